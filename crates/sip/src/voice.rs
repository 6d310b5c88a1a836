//! A leg's voice codec with its state. G.711 needs none; Opus (RFC 7587) has an encoder and
//! a decoder of its own, and its RTP timestamps count at 48 kHz whatever the audio's rate.
//!
//! Inside callrec a call runs at 8 kHz (the bridge, the jitter buffers, the recorder's
//! legs), so Opus is encoded from and decoded to 8 kHz (libopus does both natively), and its
//! timestamps are mapped to 8 kHz ticks on the way in: the jitter buffer sees every leg alike.

//!
//! libopus only fails to start an encoder or decoder for arguments these are not, or when
//! memory is out; then the leg says so in the log and sends (or hears) nothing, rather than
//! stopping the call.

use crate::g711::{Codec, FRAME};

/// Opus's RTP clock (RFC 7587 4.1), six times G.711's.
const OPUS_CLOCK_PER_8K: u64 = 6;

/// Encodes the agent's 20 ms frames for one leg.
pub struct Encoder {
    codec: Codec,
    opus: Option<opus::Encoder>,
    /// Encoded bytes of one frame (Opus writes into it).
    scratch: Vec<u8>,
}

impl Encoder {
    /// An encoder for `codec`.
    pub fn new(codec: Codec) -> Self {
        let opus = match codec {
            Codec::Opus(_) => {
                opus::Encoder::new(8_000, opus::Channels::Mono, opus::Application::Voip)
                    .inspect_err(|e| tracing::error!(error = %e, "starting the Opus encoder"))
                    .ok()
            }
            Codec::Pcmu | Codec::Pcma => None,
        };
        Self {
            codec,
            opus,
            scratch: vec![0; 1_500],
        }
    }

    /// The payload type its packets carry.
    pub fn payload_type(&self) -> u8 {
        self.codec.payload_type()
    }

    /// RTP timestamp ticks per 20 ms frame.
    pub fn ticks_per_frame(&self) -> u32 {
        match self.codec {
            Codec::Opus(_) => (FRAME as u64 * OPUS_CLOCK_PER_8K) as u32,
            Codec::Pcmu | Codec::Pcma => FRAME as u32,
        }
    }

    /// Encodes one 20 ms frame (160 samples at 8 kHz) into `out`; false when Opus refused
    /// it (then nothing is sent for this frame).
    pub fn encode(&mut self, frame: &[f32], out: &mut Vec<u8>) -> bool {
        match (&mut self.opus, self.codec) {
            (None, Codec::Opus(_)) => false,
            (None, law) => {
                law.encode(frame, out);
                true
            }
            (Some(opus), _) => match opus.encode_float(frame, &mut self.scratch) {
                Ok(n) => {
                    out.extend_from_slice(&self.scratch[..n]);
                    true
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Opus could not encode a frame");
                    false
                }
            },
        }
    }
}

/// Decodes one leg's voice packets.
pub struct Decoder {
    codec: Codec,
    opus: Option<opus::Decoder>,
    /// The last extended 48 kHz timestamp (Opus), for unwrapping.
    last: Option<u64>,
    scratch: Vec<f32>,
}

impl Decoder {
    /// A decoder for `codec`.
    pub fn new(codec: Codec) -> Self {
        let opus = match codec {
            Codec::Opus(_) => opus::Decoder::new(8_000, opus::Channels::Mono)
                .inspect_err(|e| tracing::error!(error = %e, "starting the Opus decoder"))
                .ok(),
            Codec::Pcmu | Codec::Pcma => None,
        };
        Self {
            codec,
            opus,
            last: None,
            // Opus packets hold up to 120 ms.
            scratch: vec![0.0; 8 * 120],
        }
    }

    /// Whether a packet of payload type `pt` is this call's voice.
    pub fn accepts(&self, pt: u8) -> bool {
        match self.codec {
            Codec::Opus(ours) => pt == ours,
            Codec::Pcmu | Codec::Pcma => Codec::from_payload_type(pt).is_some(),
        }
    }

    /// Decodes a packet with payload type `pt` and timestamp `ts` into `out` when it is this
    /// call's voice (either G.711 law on a G.711 call: a peer may switch between the codecs
    /// of an answer, RFC 3264 5.1); returns its timestamp in 8 kHz ticks, or `None` for
    /// anything else (or a packet Opus cannot decode).
    pub fn decode(&mut self, pt: u8, ts: u32, payload: &[u8], out: &mut Vec<f32>) -> Option<u32> {
        match (&mut self.opus, self.codec) {
            (None, Codec::Opus(_)) => None,
            (None, _) => {
                let law = Codec::from_payload_type(pt)?;
                law.decode(payload, out);
                Some(ts)
            }
            (Some(opus), _) => {
                if pt != self.codec.payload_type() {
                    return None;
                }
                let n = match opus.decode_float(payload, &mut self.scratch, false) {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::debug!(error = %e, "an Opus packet that does not decode");
                        return None;
                    }
                };
                out.extend_from_slice(&self.scratch[..n]);
                // Unwrapped at 48 kHz, then counted at 8 kHz: continuous through the wrap.
                let ext = crate::wrap::nearest(self.last, u64::from(ts), 32);
                self.last = Some(self.last.map_or(ext, |l| l.max(ext)));
                Some((ext / OPUS_CLOCK_PER_8K) as u32)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, hz: f32, from: usize) -> Vec<f32> {
        (from..from + n)
            .map(|i| 0.5 * (std::f32::consts::TAU * hz * i as f32 / 8_000.0).sin())
            .collect()
    }

    #[test]
    fn opus_carries_a_tone_at_8_khz_and_counts_48_khz_ticks() {
        let mut encoder = Encoder::new(Codec::Opus(111));
        let mut decoder = Decoder::new(Codec::Opus(111));
        assert_eq!(encoder.ticks_per_frame(), 960);
        let mut heard = Vec::new();
        let mut ticks = Vec::new();
        for i in 0..50usize {
            let mut bytes = Vec::new();
            assert!(encoder.encode(&tone(FRAME, 440.0, i * FRAME), &mut bytes));
            assert!(bytes.len() < FRAME, "{} bytes: not compressed", bytes.len());
            // Timestamps start near the wrap: 8 kHz ticks go on through it.
            let ts = (u32::MAX - 10 * 960).wrapping_add(i as u32 * 960);
            ticks.push(decoder.decode(111, ts, &bytes, &mut heard).expect("voice"));
        }
        assert!(
            ticks.windows(2).all(|w| w[1].wrapping_sub(w[0]) == 160),
            "{ticks:?}"
        );
        assert_eq!(heard.len(), 50 * FRAME);
        // After the codec's start-up, the tone at its level.
        let late = &heard[20 * FRAME..];
        let rms = (late.iter().map(|v| v * v).sum::<f32>() / late.len() as f32).sqrt();
        assert!((0.3..0.42).contains(&rms), "rms {rms}");
        assert_eq!(
            decoder.decode(0, 0, &[0xff; 160], &mut heard),
            None,
            "not this call's"
        );
    }

    #[test]
    fn a_g711_call_decodes_either_law_and_nothing_else() {
        let mut decoder = Decoder::new(Codec::Pcmu);
        let mut out = Vec::new();
        assert_eq!(decoder.decode(8, 320, &[0xd5; 160], &mut out), Some(320));
        assert_eq!(decoder.decode(0, 480, &[0xff; 160], &mut out), Some(480));
        assert_eq!(decoder.decode(111, 640, &[1, 2, 3], &mut out), None);
        assert_eq!(out.len(), 320);
        assert!(decoder.accepts(8) && decoder.accepts(0) && !decoder.accepts(111));
        assert!(Decoder::new(Codec::Opus(111)).accepts(111));
        assert!(!Decoder::new(Codec::Opus(111)).accepts(0));
    }
}
