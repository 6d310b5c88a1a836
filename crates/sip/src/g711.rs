//! G.711 frames: the two telephone codecs every SIP peer speaks.

/// A G.711 variant and its static RTP payload type (RFC 3551).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// μ-law, payload type 0.
    Pcmu,
    /// A-law, payload type 8.
    Pcma,
}

/// G.711's sample rate.
pub const RATE: u32 = 8_000;
/// Samples in a 20 ms frame (the usual packet time).
pub const FRAME: usize = 160;

impl Codec {
    /// The static payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Self::Pcmu => 0,
            Self::Pcma => 8,
        }
    }

    /// The codec of a static payload type.
    pub fn from_payload_type(pt: u8) -> Option<Self> {
        match pt {
            0 => Some(Self::Pcmu),
            8 => Some(Self::Pcma),
            _ => None,
        }
    }

    /// The encoding name in SDP.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
        }
    }

    /// Encodes samples in `[-1, 1]` (one byte each).
    pub fn encode(self, samples: &[f32], out: &mut Vec<u8>) {
        out.extend(samples.iter().map(|&s| {
            let linear = (s.clamp(-1.0, 1.0) * 32_767.0) as i16;
            match self {
                Self::Pcmu => audio_codec_algorithms::encode_ulaw(linear),
                Self::Pcma => audio_codec_algorithms::encode_alaw(linear),
            }
        }));
    }

    /// Decodes bytes to samples in `[-1, 1]`.
    pub fn decode(self, bytes: &[u8], out: &mut Vec<f32>) {
        out.extend(bytes.iter().map(|&b| {
            let linear = match self {
                Self::Pcmu => audio_codec_algorithms::decode_ulaw(b),
                Self::Pcma => audio_codec_algorithms::decode_alaw(b),
            };
            f32::from(linear) / 32_768.0
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_survives_both_codecs_within_their_quantisation() {
        let tone: Vec<f32> = (0..FRAME)
            .map(|i| 0.5 * (std::f32::consts::TAU * 440.0 * i as f32 / RATE as f32).sin())
            .collect();
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let mut bytes = Vec::new();
            codec.encode(&tone, &mut bytes);
            assert_eq!(bytes.len(), FRAME);
            let mut back = Vec::new();
            codec.decode(&bytes, &mut back);
            let worst = tone
                .iter()
                .zip(&back)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            // 8-bit logarithmic: at most about 1/32 of the value near full scale.
            assert!(worst < 0.02, "{codec:?}: {worst}");
        }
    }

    #[test]
    fn silence_stays_near_silent_and_payload_types_round_trip() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let mut bytes = Vec::new();
            codec.encode(&[0.0; 4], &mut bytes);
            let mut back = Vec::new();
            codec.decode(&bytes, &mut back);
            assert!(back.iter().all(|s| s.abs() < 0.001), "{codec:?}: {back:?}");
            assert_eq!(Codec::from_payload_type(codec.payload_type()), Some(codec));
        }
        assert_eq!(Codec::from_payload_type(101), None);
    }
}
