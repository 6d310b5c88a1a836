//! Testing the audio devices outside a call: both inputs opened and metered, nothing kept.
//! The settings page shows the levels live, so an agent can check the headset before the
//! first call of the shift instead of finding out from a silent recording.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use callrec_audio::{CaptureSource, Meter, Read, Source};
use serde::Serialize;

/// How often the test reads the devices.
const POLL: Duration = Duration::from_millis(25);

/// One device under test, as the window shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeviceLevel {
    /// The device's name (`None` before it opened).
    pub device: Option<String>,
    /// The latest level: (RMS, peak), 0..=1.
    pub level: (f32, f32),
    /// Why the device could not be opened or stopped delivering sound.
    pub error: Option<String>,
}

/// Both inputs of a test.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeviceTestView {
    /// The microphone.
    pub mic: DeviceLevel,
    /// The call audio.
    pub call: DeviceLevel,
}

/// A running device test; stops (and releases the devices) when dropped.
pub struct DeviceTest {
    stop: Arc<AtomicBool>,
    view: Arc<Mutex<DeviceTestView>>,
    thread: Option<JoinHandle<()>>,
}

fn lock(m: &Mutex<DeviceTestView>) -> std::sync::MutexGuard<'_, DeviceTestView> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl DeviceTest {
    /// Opens both devices (by name; `None` is the system default) and meters them until
    /// dropped. A device that cannot be opened is reported in its [`DeviceLevel::error`].
    pub fn start(mic: Option<String>, call: Option<String>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let view = Arc::new(Mutex::new(DeviceTestView::default()));
        let thread = {
            let (stop, view) = (Arc::clone(&stop), Arc::clone(&view));
            std::thread::Builder::new()
                .name("callrec-device-test".into())
                .spawn(move || run(&[mic, call], &stop, &view))
                .ok()
        };
        if thread.is_none() {
            lock(&view).mic.error = Some("the device test could not start a thread".into());
        }
        Self { stop, view, thread }
    }

    /// The levels now.
    pub fn view(&self) -> DeviceTestView {
        lock(&self.view).clone()
    }
}

impl Drop for DeviceTest {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn slot(view: &mut DeviceTestView, index: usize) -> &mut DeviceLevel {
    if index == 0 {
        &mut view.mic
    } else {
        &mut view.call
    }
}

fn run(names: &[Option<String>; 2], stop: &AtomicBool, view: &Mutex<DeviceTestView>) {
    // The streams live on this thread only (a cpal stream need not be Send).
    let mut inputs: Vec<Option<(CaptureSource, Meter)>> = names
        .iter()
        .enumerate()
        .map(|(i, name)| match CaptureSource::open(name.as_deref()) {
            Ok(source) => {
                slot(&mut lock(view), i).device = Some(source.name().to_owned());
                // About 20 readings a second.
                let meter = Meter::new((source.rate() / 20) as usize);
                Some((source, meter))
            }
            Err(e) => {
                let mut view = lock(view);
                let level = slot(&mut view, i);
                level.device.clone_from(name);
                level.error = Some(e.to_string());
                None
            }
        })
        .collect();
    let mut buf = vec![0f32; 4096];
    while !stop.load(Ordering::Relaxed) {
        for (i, input) in inputs.iter_mut().enumerate() {
            let Some((source, meter)) = input else {
                continue;
            };
            let mut latest = None;
            loop {
                match source.read(&mut buf) {
                    Ok(Read::Samples(n)) => meter.feed(&buf[..n], |l| latest = Some(l)),
                    Ok(Read::Pending | Read::End) => break,
                    Err(e) => {
                        slot(&mut lock(view), i).error = Some(e.to_string());
                        break;
                    }
                }
            }
            if let Some(l) = latest {
                slot(&mut lock(view), i).level = (l.rms, l.peak);
            }
        }
        std::thread::sleep(POLL);
    }
}
