//! The headset: a [`Source`] played on an output device through cpal, with little delay.
//!
//! A feeder thread reads the source every 5 ms, resamples it to the device's rate with
//! [`crate::QuickRate`] (about 10 ms of delay, where the recorder's FFT resampler would add
//! over 100 ms), and fills a ring the device's callback drains. The ring is kept short: when the device's clock runs slower than the
//! call's, the oldest samples are dropped rather than letting the delay grow for the whole
//! call; when it runs faster, the callback plays silence for what is missing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{SampleFormat, SizedSample, StreamConfig};

use crate::error::{AudioError, Result};
use crate::source::{Read, Source};

/// How often the feeder reads the source.
const FEED_EVERY: Duration = Duration::from_millis(5);
/// The most the ring may hold before the oldest samples are dropped (ms).
const MAX_QUEUED_MS: u64 = 80;
/// What the ring must hold before playing starts, and again after it ran dry (ms): a
/// steady stream rather than one that stutters at its start.
const PRIME_MS: u64 = 30;

/// What a playback did so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlaybackHealth {
    /// Device-rate samples played from the source.
    pub played: u64,
    /// Samples the device wanted when none were ready (played as silence).
    pub underruns: u64,
    /// Samples dropped to keep the delay short.
    pub dropped: u64,
    /// Stream errors the backend reported.
    pub errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    played: AtomicU64,
    underruns: AtomicU64,
    dropped: AtomicU64,
    errors: AtomicU64,
}

/// A source playing on an output device; stops when dropped.
pub struct Playback {
    name: String,
    rate: u32,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    feeder: Option<JoinHandle<()>>,
    _stream: cpal::Stream,
}

/// The output devices cpal sees.
pub fn list_output_devices() -> Result<Vec<String>> {
    let host = cpal::default_host();
    let devices = host.output_devices().map_err(|e| AudioError::Output {
        device: "(output devices)".into(),
        message: e.to_string(),
    })?;
    Ok(devices.map(|d| output_name(&d)).collect())
}

fn output_name(device: &cpal::Device) -> String {
    crate::capture::device_name(device)
}

fn find_output(name: Option<&str>) -> Result<cpal::Device> {
    let host = cpal::default_host();
    match name {
        None => host
            .default_output_device()
            .ok_or(AudioError::NoDefaultOutput),
        Some(wanted) => {
            let devices = host.output_devices().map_err(|e| AudioError::Output {
                device: wanted.into(),
                message: e.to_string(),
            })?;
            let mut names = Vec::new();
            for device in devices {
                let name = output_name(&device);
                if name == wanted {
                    return Ok(device);
                }
                names.push(name);
            }
            Err(AudioError::Output {
                device: wanted.into(),
                message: format!("no such output device; there are: {}", names.join(", ")),
            })
        }
    }
}

impl Playback {
    /// Plays `source` on the output device called `name` (or the default one), from now
    /// until dropped. Not real-time safe.
    pub fn open(name: Option<&str>, source: Box<dyn Source>) -> Result<Self> {
        let device = find_output(name)?;
        let name = output_name(&device);
        let dev_err = |e: cpal::Error| AudioError::Output {
            device: name.clone(),
            message: e.to_string(),
        };
        let supported = device.default_output_config().map_err(dev_err)?;
        let rate = supported.sample_rate();
        let channels = usize::from(supported.channels().max(1));
        let (producer, consumer) = rtrb::RingBuffer::new(rate as usize);
        let counters = Arc::new(Counters::default());
        let config: StreamConfig = supported.config();
        let stream = match supported.sample_format() {
            SampleFormat::I16 => build::<i16>(&device, config, channels, consumer, &counters),
            SampleFormat::I32 => build::<i32>(&device, config, channels, consumer, &counters),
            SampleFormat::U16 => build::<u16>(&device, config, channels, consumer, &counters),
            SampleFormat::F32 => build::<f32>(&device, config, channels, consumer, &counters),
            other => {
                return Err(AudioError::Output {
                    device: name,
                    message: format!("unsupported output sample format {other}"),
                });
            }
        }
        .map_err(dev_err)?;
        stream.play().map_err(dev_err)?;
        let stop = Arc::new(AtomicBool::new(false));
        let feeder = Feeder::new(source, rate, producer, Arc::clone(&counters))?;
        let stopping = Arc::clone(&stop);
        let feeder = std::thread::Builder::new()
            .name("callrec-headset".into())
            .spawn(move || feeder.run(&stopping))
            .map_err(|e| AudioError::Output {
                device: name.clone(),
                message: format!("starting the headset thread: {e}"),
            })?;
        Ok(Self {
            name,
            rate,
            counters,
            stop,
            feeder: Some(feeder),
            _stream: stream,
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The device's rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// What happened so far.
    pub fn health(&self) -> PlaybackHealth {
        PlaybackHealth {
            played: self.counters.played.load(Ordering::Relaxed),
            underruns: self.counters.underruns.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            errors: self.counters.errors.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(feeder) = self.feeder.take() {
            let _ = feeder.join();
        }
    }
}

/// Reads the source at the device's rate and keeps the ring filled (and short).
struct Feeder {
    source: crate::resample::QuickRate<Box<dyn Source>>,
    scratch: Vec<f32>,
    producer: rtrb::Producer<f32>,
    counters: Arc<Counters>,
    max_queued: usize,
    capacity: usize,
}

impl Feeder {
    fn new(
        source: Box<dyn Source>,
        rate: u32,
        producer: rtrb::Producer<f32>,
        counters: Arc<Counters>,
    ) -> Result<Self> {
        let capacity = producer.slots();
        Ok(Self {
            source: crate::resample::QuickRate::new(source, rate)?,
            scratch: vec![0.0; 2048],
            producer,
            counters,
            max_queued: (u64::from(rate) * MAX_QUEUED_MS / 1000) as usize,
            capacity,
        })
    }

    fn run(mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            if self.feed().is_err() {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
            }
            std::thread::sleep(FEED_EVERY);
        }
    }

    fn feed(&mut self) -> Result<()> {
        while let Read::Samples(produced) = self.source.read(&mut self.scratch)? {
            let queued = self.capacity - self.producer.slots();
            let n = produced.min(self.max_queued.saturating_sub(queued));
            if let Ok(chunk) = self.producer.write_chunk_uninit(n) {
                chunk.fill_from_iter(self.scratch[..n].iter().copied());
            }
            self.counters
                .dropped
                .fetch_add((produced - n) as u64, Ordering::Relaxed);
        }
        Ok(())
    }
}

fn build<T>(
    device: &cpal::Device,
    config: StreamConfig,
    channels: usize,
    mut consumer: rtrb::Consumer<f32>,
    counters: &Arc<Counters>,
) -> std::result::Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + cpal::FromSample<f32>,
{
    let data_counters = Arc::clone(counters);
    let error_counters = Arc::clone(counters);
    let prime = (u64::from(config.sample_rate) * PRIME_MS / 1000) as usize;
    let mut primed = false;
    device.build_output_stream::<T, _, _>(
        config,
        move |data: &mut [T], _info: &cpal::OutputCallbackInfo| {
            // Real-time: copy from the ring, silence for what is missing. No lock, allocation,
            // IO or log.
            let frames = data.len() / channels;
            if !primed && consumer.slots() < prime {
                // Not enough yet to play without stuttering: silence, not an underrun.
                for s in data.iter_mut() {
                    *s = T::from_sample(0.0);
                }
                return;
            }
            primed = true;
            let ready = frames.min(consumer.slots());
            let mut played = 0;
            if let Ok(chunk) = consumer.read_chunk(ready) {
                let (a, b) = chunk.as_slices();
                for (frame, &s) in data.chunks_exact_mut(channels).zip(a.iter().chain(b)) {
                    frame.fill(T::from_sample(s));
                    played += 1;
                }
                chunk.commit_all();
            }
            for frame in data.chunks_exact_mut(channels).skip(played) {
                frame.fill(T::from_sample(0.0));
            }
            data_counters
                .played
                .fetch_add(played as u64, Ordering::Relaxed);
            data_counters
                .underruns
                .fetch_add((frames - played) as u64, Ordering::Relaxed);
            if played < frames {
                primed = false; // ran dry: gather a little again before playing on
            }
        },
        move |_err| {
            error_counters.errors.fetch_add(1, Ordering::Relaxed);
        },
        None,
    )
}
