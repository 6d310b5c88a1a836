//! G.711 frames: the two telephone codecs every SIP peer speaks; and the codecs a call may
//! agree on (G.711, or Opus where the peer offers it: see [`crate::voice`]).

/// A call's codec and its RTP payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// G.711 μ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
    /// Opus (RFC 7587) with its dynamic payload type; it needs state, so it is encoded and
    /// decoded by [`crate::voice::Encoder`] and [`crate::voice::Decoder`] only.
    Opus(u8),
}

/// The payload type callrec offers Opus under.
pub const OPUS_PAYLOAD_TYPE: u8 = 111;

/// G.711's sample rate.
pub const RATE: u32 = 8_000;
/// Samples in a 20 ms frame (the usual packet time).
pub const FRAME: usize = 160;

impl Codec {
    /// The payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Self::Pcmu => 0,
            Self::Pcma => 8,
            Self::Opus(pt) => pt,
        }
    }

    /// The G.711 codec of a static payload type.
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
            Self::Opus(_) => "opus",
        }
    }

    /// Its RTP clock rate.
    pub fn clock_rate(self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma => RATE,
            Self::Opus(_) => 48_000,
        }
    }

    /// Its `a=rtpmap` encoding: name, clock rate (and channels).
    pub fn rtpmap(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU/8000",
            Self::Pcma => "PCMA/8000",
            Self::Opus(_) => "opus/48000/2",
        }
    }

    /// Encodes samples in `[-1, 1]` as G.711 (one byte each). Only
    /// [`crate::voice::Encoder`] calls it, for a G.711 call (Opus has state of its own there).
    pub(crate) fn encode(self, samples: &[f32], out: &mut Vec<u8>) {
        let law = match self {
            Self::Pcmu => audio_codec_algorithms::encode_ulaw,
            Self::Pcma => audio_codec_algorithms::encode_alaw,
            Self::Opus(_) => return,
        };
        out.extend(
            samples
                .iter()
                .map(|&s| law((s.clamp(-1.0, 1.0) * 32_767.0) as i16)),
        );
    }

    /// Decodes G.711 bytes to samples in `[-1, 1]`. Only [`crate::voice::Decoder`] calls it,
    /// for a G.711 call.
    pub(crate) fn decode(self, bytes: &[u8], out: &mut Vec<f32>) {
        let law = match self {
            Self::Pcmu => audio_codec_algorithms::decode_ulaw,
            Self::Pcma => audio_codec_algorithms::decode_alaw,
            Self::Opus(_) => return,
        };
        out.extend(bytes.iter().map(|&b| {
            let linear = law(b);
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
