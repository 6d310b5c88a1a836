//! Live capture from an input device through cpal (ALSA on Linux).
//!
//! The device callback runs on the audio thread: it downmixes each frame to mono and pushes it
//! into a pre-allocated lock-free ring (rtrb), and nothing else: no lock, no allocation, no IO,
//! no log. A full ring drops the newest samples and counts them; stream errors are counted
//! too. A worker thread drains the ring through [`Source::read`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{SampleFormat, SizedSample, StreamConfig};

use crate::error::{AudioError, Result};
use crate::source::{Read, Source};

/// Seconds of audio the ring holds: ample for a writer thread that falls behind briefly.
const RING_SECONDS: usize = 4;

/// An input device as `callrec devices` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The name to open it by.
    pub name: String,
    /// Its default sample rate.
    pub default_rate: u32,
    /// Its default channel count.
    pub default_channels: u16,
    /// Its default sample format.
    pub sample_format: String,
    /// Whether it is the system's default input.
    pub is_default: bool,
}

pub(crate) fn device_name(device: &cpal::Device) -> String {
    device
        .description()
        .map(|d| d.name().to_owned())
        .unwrap_or_else(|_| device.to_string())
}

/// The input devices of the default host. Not real-time safe.
pub fn list_input_devices() -> Result<Vec<DeviceInfo>> {
    let host = cpal::default_host();
    let default = host.default_input_device().map(|d| device_name(&d));
    let devices = host.input_devices().map_err(|e| AudioError::Device {
        device: "(all)".into(),
        message: e.to_string(),
    })?;
    Ok(devices
        .filter_map(|d| {
            let config = d.default_input_config().ok()?;
            let name = device_name(&d);
            Some(DeviceInfo {
                is_default: default.as_deref() == Some(name.as_str()),
                name,
                default_rate: config.sample_rate(),
                default_channels: config.channels(),
                sample_format: config.sample_format().to_string(),
            })
        })
        .collect())
}

/// The name of the default input device. Not real-time safe.
pub fn default_input_device() -> Result<String> {
    cpal::default_host()
        .default_input_device()
        .map(|d| device_name(&d))
        .ok_or(AudioError::NoDefaultDevice)
}

fn find_device(name: Option<&str>) -> Result<cpal::Device> {
    let host = cpal::default_host();
    let Some(name) = name else {
        return host
            .default_input_device()
            .ok_or(AudioError::NoDefaultDevice);
    };
    let devices: Vec<cpal::Device> = host
        .input_devices()
        .map_err(|e| AudioError::Device {
            device: name.into(),
            message: e.to_string(),
        })?
        .collect();
    if let Some(d) = devices
        .iter()
        .find(|d| device_name(d) == name || d.id().is_ok_and(|id| id.to_string() == name))
    {
        return Ok(d.clone());
    }
    Err(AudioError::NoSuchDevice {
        name: name.into(),
        available: devices
            .iter()
            .map(device_name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Counters the audio thread keeps, read by anyone.
#[derive(Debug, Default)]
struct Counters {
    captured: AtomicU64,
    dropped: AtomicU64,
    errors: AtomicU64,
}

/// What happened to a capture so far: never hidden, shown to the agent when not clean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaptureHealth {
    /// Samples the device delivered.
    pub captured: u64,
    /// Samples lost because the ring was full (the writer fell behind).
    pub dropped: u64,
    /// Stream errors the backend reported (overruns, device changes, disconnects).
    pub errors: u64,
}

/// A live input device as a mono [`Source`] at the device's own rate.
pub struct CaptureSource {
    name: String,
    rate: u32,
    consumer: rtrb::Consumer<f32>,
    counters: Arc<Counters>,
    stream: cpal::Stream,
}

impl CaptureSource {
    /// Opens the input device called `name` (or the default one) in its default
    /// configuration and starts capturing. Not real-time safe.
    pub fn open(name: Option<&str>) -> Result<Self> {
        let device = find_device(name)?;
        let name = device_name(&device);
        let dev_err = |e: cpal::Error| AudioError::Device {
            device: name.clone(),
            message: e.to_string(),
        };
        let supported = device.default_input_config().map_err(dev_err)?;
        let rate = supported.sample_rate();
        let channels = usize::from(supported.channels().max(1));
        let (producer, consumer) = rtrb::RingBuffer::new(rate as usize * RING_SECONDS);
        let counters = Arc::new(Counters::default());
        let config: StreamConfig = supported.config();
        let stream = match supported.sample_format() {
            SampleFormat::I8 => build::<i8>(&device, config, channels, producer, &counters),
            SampleFormat::I16 => build::<i16>(&device, config, channels, producer, &counters),
            SampleFormat::I32 => build::<i32>(&device, config, channels, producer, &counters),
            SampleFormat::U8 => build::<u8>(&device, config, channels, producer, &counters),
            SampleFormat::U16 => build::<u16>(&device, config, channels, producer, &counters),
            SampleFormat::F32 => build::<f32>(&device, config, channels, producer, &counters),
            SampleFormat::F64 => build::<f64>(&device, config, channels, producer, &counters),
            other => {
                return Err(AudioError::Device {
                    device: name,
                    message: format!("unsupported sample format {other}"),
                });
            }
        }
        .map_err(dev_err)?;
        stream.play().map_err(dev_err)?;
        Ok(Self {
            name,
            rate,
            consumer,
            counters,
            stream,
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Counters so far. Real-time safe (atomic loads).
    pub fn health(&self) -> CaptureHealth {
        CaptureHealth {
            captured: self.counters.captured.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            errors: self.counters.errors.load(Ordering::Relaxed),
        }
    }

    /// Stops capturing; what is in the ring can still be read.
    pub fn stop(&self) {
        let _ = self.stream.pause();
    }
}

fn build<T>(
    device: &cpal::Device,
    config: StreamConfig,
    channels: usize,
    mut producer: rtrb::Producer<f32>,
    counters: &Arc<Counters>,
) -> std::result::Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + cpal::Sample,
    f32: cpal::FromSample<T>,
{
    let data_counters = Arc::clone(counters);
    let error_counters = Arc::clone(counters);
    let scale = 1.0 / channels as f32;
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _info: &cpal::InputCallbackInfo| {
            // Real-time: copy into the ring and return. No lock, allocation, IO or log.
            let frames = data.len() / channels;
            let pushed =
                match producer.write_chunk_uninit(frames.min(producer.slots())) {
                    Ok(chunk) => chunk.fill_from_iter(data.chunks_exact(channels).map(|frame| {
                        frame.iter().map(|s| s.to_sample::<f32>()).sum::<f32>() * scale
                    })),
                    Err(_) => 0,
                };
            data_counters
                .captured
                .fetch_add(frames as u64, Ordering::Relaxed);
            data_counters
                .dropped
                .fetch_add((frames - pushed) as u64, Ordering::Relaxed);
        },
        move |_err| {
            error_counters.errors.fetch_add(1, Ordering::Relaxed);
        },
        None,
    )
}

impl Source for CaptureSource {
    fn rate(&self) -> u32 {
        self.rate
    }

    /// Drains the ring. Real-time safe on the reading side (no lock, no allocation), but meant
    /// for the writer thread.
    fn read(&mut self, out: &mut [f32]) -> Result<Read> {
        let n = out.len().min(self.consumer.slots());
        if n == 0 {
            return Ok(if out.is_empty() {
                Read::Samples(0)
            } else {
                Read::Pending
            });
        }
        match self.consumer.read_chunk(n) {
            Ok(chunk) => {
                let (a, b) = chunk.as_slices();
                out[..a.len()].copy_from_slice(a);
                out[a.len()..a.len() + b.len()].copy_from_slice(b);
                chunk.commit_all();
                Ok(Read::Samples(n))
            }
            Err(_) => Ok(Read::Pending),
        }
    }
}

/// A live input at the recording rate, ready for a call: the device opened by name (or the
/// default), resampled to `rate`, and kept on the machine's monotonic clock (the clock events
/// are timed with) so two devices stay aligned however long the call. Not real-time safe.
///
/// A device lost during the call (unplugged, its server restarted) is replaced by exact
/// silence on the same clock and reopened every second ([`crate::Steady`]); the source's
/// [`Source::health`] says so.
pub fn live_input(name: Option<&str>, rate: u32) -> Result<Box<dyn Source>> {
    steady_input(name, rate, false)
}

/// A device kept steady on the monotonic clock, resampled by the recorder's FFT resampler or
/// (`quick`) by the low-delay one.
fn steady_input(name: Option<&str>, rate: u32, quick: bool) -> Result<Box<dyn Source>> {
    let name = name.map(str::to_owned);
    let open: crate::steady::Opener = Box::new(move || {
        let device = CaptureSource::open(name.as_deref())?;
        let device: Box<dyn Source> = if quick {
            Box::new(crate::resample::QuickRate::new(device, rate)?)
        } else {
            Box::new(crate::resample::AtRate::new(device, rate)?)
        };
        Ok(Box::new(crate::drift::Aligned::new(
            device,
            crate::drift::MonotonicClock::start(),
        )) as Box<dyn Source>)
    });
    Ok(Box::new(crate::steady::Steady::new(
        open,
        rate,
        crate::drift::MonotonicClock::start(),
    )?))
}

/// [`live_input`] with little delay: the device resampled with [`crate::QuickRate`] (about
/// 10 ms) instead of the recorder's FFT resampler (over 100 ms). For the softphone's
/// microphone, whose samples go to the network as they come.
pub fn live_input_quick(name: Option<&str>, rate: u32) -> Result<Box<dyn Source>> {
    steady_input(name, rate, true)
}
