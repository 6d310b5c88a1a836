//! DTMF as RFC 4733 telephone-events: keypad digits sent and received as RTP events, not as
//! tones in the audio. The recording therefore never holds the tones of what a customer
//! types (a card number stays out of the audio); the digits are events.

/// How long each digit is sent (samples at 8 kHz): 100 ms.
pub const TONE: u32 = 800;
/// The pause after each digit, in 20 ms frames of voice.
pub const GAP_FRAMES: u32 = 3;
/// End packets are sent three times (RFC 4733 2.5.1.4).
const END_REPEATS: u32 = 3;
/// Samples a packet covers (20 ms).
const STEP: u32 = 160;

/// The event code of a keypad symbol (0-9, *, #, A-D).
pub fn event_of(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        'a'..='d' => Some(digit as u8 - b'a' + 12),
        _ => None,
    }
}

/// The keypad symbol of an event code.
pub fn digit_of(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

/// One telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The event code.
    pub event: u8,
    /// The end of the event.
    pub end: bool,
    /// Its duration so far, in samples.
    pub duration: u16,
}

impl Event {
    /// The four payload bytes (volume 10 dBm0 below full scale).
    pub fn to_bytes(self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        [self.event, (u8::from(self.end) << 7) | 10, d0, d1]
    }

    /// Reads a payload; `None` if it is too short.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let [event, flags, d0, d1, ..] = *payload else {
            return None;
        };
        Some(Self {
            event,
            end: flags & 0x80 != 0,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }
}

/// What the sender puts in the next 20 ms slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Voice, as usual.
    Voice,
    /// Not voice: a telephone-event packet, with its RTP timestamp offset (the event's start,
    /// in samples from the current slot) and whether it starts the event (marker bit).
    Event {
        /// The payload.
        event: Event,
        /// Samples back from this slot to the event's start.
        started: u32,
        /// The first packet of the event.
        marker: bool,
    },
    /// Silence between two digits (nothing is sent as voice while typing).
    Gap,
}

/// Turns queued digits into 20 ms slots.
#[derive(Debug, Default)]
pub struct Sender {
    queue: std::collections::VecDeque<u8>,
    /// The digit being sent: (event, slots so far).
    current: Option<(u8, u32)>,
    gap: u32,
}

impl Sender {
    /// Queues digits; unknown symbols are skipped (and returned).
    pub fn queue(&mut self, digits: &str) -> Vec<char> {
        let mut rejected = Vec::new();
        for c in digits.chars() {
            match event_of(c) {
                Some(e) => self.queue.push_back(e),
                None => rejected.push(c),
            }
        }
        rejected
    }

    /// Whether digits are waiting or being sent.
    pub fn busy(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty() || self.gap > 0
    }

    /// The next slot.
    pub fn next_slot(&mut self) -> Slot {
        if self.current.is_none() {
            if self.gap > 0 {
                self.gap -= 1;
                return Slot::Gap;
            }
            match self.queue.pop_front() {
                Some(e) => self.current = Some((e, 0)),
                None => return Slot::Voice,
            }
        }
        let Some((event, n)) = self.current.as_mut() else {
            return Slot::Voice;
        };
        let tone_slots = TONE / STEP;
        let slot = *n;
        *n += 1;
        let end = slot + 1 >= tone_slots;
        let duration = ((slot + 1).min(tone_slots) * STEP) as u16;
        let out = Slot::Event {
            event: Event {
                event: *event,
                end,
                duration,
            },
            started: slot * STEP,
            marker: slot == 0,
        };
        if slot + 1 >= tone_slots + END_REPEATS - 1 {
            self.current = None;
            self.gap = GAP_FRAMES;
        }
        out
    }
}

/// Turns received telephone-event packets into digits, once each (end packets repeat).
#[derive(Debug, Default)]
pub struct Receiver {
    last_end: Option<u32>,
}

impl Receiver {
    /// A telephone-event packet with RTP timestamp `ts`: the digit, when this packet is the
    /// first end packet of its event.
    pub fn packet(&mut self, ts: u32, payload: &[u8]) -> Option<char> {
        let event = Event::parse(payload)?;
        if !event.end || self.last_end == Some(ts) {
            return None;
        }
        self.last_end = Some(ts);
        digit_of(event.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keypad_symbol_round_trips_and_others_are_refused() {
        for c in "0123456789*#ABCD".chars() {
            assert_eq!(event_of(c).and_then(digit_of), Some(c));
        }
        assert_eq!(event_of('x'), None);
        assert_eq!(digit_of(16), None);
        let e = Event {
            event: 11,
            end: true,
            duration: 800,
        };
        assert_eq!(Event::parse(&e.to_bytes()), Some(e));
        assert_eq!(Event::parse(&[1, 2]), None);
    }

    #[test]
    fn a_digit_is_100_ms_of_events_three_end_packets_then_a_gap() {
        let mut s = Sender::default();
        assert_eq!(s.queue("5x"), vec!['x']);
        let slots: Vec<Slot> = std::iter::from_fn(|| Some(s.next_slot()))
            .take(12)
            .collect();
        let events: Vec<Event> = slots
            .iter()
            .filter_map(|s| match s {
                Slot::Event { event, .. } => Some(*event),
                _ => None,
            })
            .collect();
        assert_eq!(events.len(), 7, "5 slots of tone, the end sent 3 times");
        assert!(events.iter().all(|e| e.event == 5));
        assert_eq!(events.iter().filter(|e| e.end).count(), 3);
        assert_eq!(events.last().map(|e| e.duration), Some(800));
        assert!(matches!(
            slots[0],
            Slot::Event {
                marker: true,
                started: 0,
                ..
            }
        ));
        assert_eq!(&slots[7..10], &[Slot::Gap; 3]);
        assert_eq!(slots[10], Slot::Voice);
        assert!(!s.busy());
    }

    #[test]
    fn the_receiver_reports_each_digit_once() {
        let mut s = Sender::default();
        s.queue("1#");
        let mut r = Receiver::default();
        let mut ts = 1_000u32;
        let mut got = String::new();
        for _ in 0..30 {
            if let Slot::Event { event, started, .. } = s.next_slot()
                && let Some(d) = r.packet(ts - started, &event.to_bytes())
            {
                got.push(d);
            }
            ts += STEP;
        }
        assert_eq!(got, "1#");
    }
}
