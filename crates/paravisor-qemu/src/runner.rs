//! Starting `qemu-system-aarch64`, feeding it the plan and collecting what
//! the guest printed.

use crate::error::Error;
use crate::model::BootImage;
use crate::model::RunConfig;
use crate::model::RunOutcome;
use crate::plan::QemuPlan;
use crate::plan::plan;
use paravisor_boot::ExitReason;
use paravisor_boot::PageData;
use std::ffi::OsString;
use std::io::Read;
use std::path::Path;
use std::path::PathBuf;
use std::process::Child;
use std::process::Command;
use std::process::Stdio;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::mpsc::Receiver;
use std::sync::mpsc::RecvTimeoutError;
use std::thread::JoinHandle;
use std::time::Duration;
use std::time::Instant;

/// Environment variable that turns "QEMU is missing" from a test failure
/// into a loudly reported skip (value `1`).
pub const SKIP_QEMU_ENV: &str = "PARAVISOR_SKIP_QEMU";

/// Checks that `config.runner.qemu` runs (`--version`).
pub fn qemu_available(config: &RunConfig) -> Result<(), Error> {
    let unavailable = |reason: String| Error::QemuUnavailable {
        qemu: config.runner.qemu.clone(),
        reason,
    };
    let output = Command::new(&config.runner.qemu)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| unavailable(e.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(unavailable(format!(
            "`--version` exited with {}",
            output.status
        )))
    }
}

/// For tests: `Ok(true)` when QEMU runs; `Ok(false)` (after printing a loud
/// notice on stderr) when it does not and `PARAVISOR_SKIP_QEMU=1` is set;
/// otherwise the error saying why QEMU cannot run.
pub fn qemu_or_skip(test: &str, config: &RunConfig) -> Result<bool, Error> {
    match qemu_available(config) {
        Ok(()) => Ok(true),
        Err(e) if std::env::var(SKIP_QEMU_ENV).is_ok_and(|v| v == "1") => {
            eprintln!("*** SKIPPED {test}: {e} ({SKIP_QEMU_ENV}=1 is set) ***");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// A `-device loader,file=` value: commas in a QEMU option value are
/// escaped by doubling them.
pub(crate) fn qemu_path(path: &Path) -> OsString {
    OsString::from(path.to_string_lossy().replace(',', ",,"))
}

pub(crate) fn fresh_work_dir() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("paravisor-qemu-{}-{n}-{nanos}", std::process::id()))
}

fn write_file(path: PathBuf, data: &[u8]) -> Result<PathBuf, Error> {
    std::fs::write(&path, data).map_err(|source| Error::WriteFile {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Writes the plan's files into `dir` and returns QEMU's arguments.
fn write_inputs(plan: &QemuPlan, dir: &Path, config: &RunConfig) -> Result<Vec<OsString>, Error> {
    emulator_args(
        dir,
        "virt,virtualization=on,gic-version=2",
        &[
            // One console: semihosting (the shims) and the PL011 UART (a
            // kernel) share QEMU's standard output.
            "-chardev",
            "stdio,id=console,mux=on",
            "-serial",
            "chardev:console",
            "-semihosting-config",
            "enable=on,target=native,chardev=console",
        ],
        &[
            ("-cpu", config.runner.cpu.clone()),
            ("-m", format!("{}M", plan.ram_mib)),
        ],
        &plan.bios,
        &plan.ram_chunks,
    )
}

/// Creates `dir`, writes the `-bios` image and the RAM chunks into it and
/// returns the arguments of a one-CPU machine `machine` without default
/// devices, display or reboot, in this order: the machine, `console`,
/// `options` (flag, value), `-bios`, one loader device per chunk.
pub(crate) fn emulator_args(
    dir: &Path,
    machine: &str,
    console: &[&str],
    options: &[(&str, String)],
    bios: &[u8],
    ram_chunks: &[PageData],
) -> Result<Vec<OsString>, Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::WriteFile {
        path: dir.to_path_buf(),
        source,
    })?;
    let bios = write_file(dir.join("bios.bin"), bios)?;
    let mut args: Vec<OsString> = [
        "-M",
        machine,
        "-smp",
        "1",
        "-nodefaults",
        "-display",
        "none",
        "-no-reboot",
    ]
    .iter()
    .chain(console)
    .map(OsString::from)
    .collect();
    for (flag, value) in options {
        args.push(flag.into());
        args.push(value.into());
    }
    args.push("-bios".into());
    args.push(bios.into_os_string());
    args.extend(loader_args(dir, ram_chunks)?);
    Ok(args)
}

/// Writes each chunk into `dir` and returns the `-device loader,file=…,
/// addr=…,force-raw=on` arguments that place it at its GPA.
fn loader_args(dir: &Path, chunks: &[PageData]) -> Result<Vec<OsString>, Error> {
    let mut args = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let file = write_file(
            dir.join(format!("ram-{i}-{:x}.bin", chunk.gpa)),
            &chunk.data,
        )?;
        let mut device = OsString::from("loader,file=");
        device.push(qemu_path(&file));
        device.push(format!(",addr={:#x},force-raw=on", chunk.gpa));
        args.push("-device".into());
        args.push(device);
    }
    Ok(args)
}

fn drain(mut stream: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error ends the capture; what was read so far is kept.
        let _ = stream.read_to_end(&mut bytes);
        bytes
    })
}

/// Reads `stream` in a thread and sends what it reads, chunk by chunk.
fn stream_chunks(mut stream: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                // End of the stream, or a read error: the capture ends.
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let chunk = buf.get(..n).unwrap_or(&[]).to_vec();
                    if sender.send(chunk).is_err() {
                        break;
                    }
                }
            }
        }
    });
    receiver
}

/// Runs QEMU until it exits, `timeout` passes, `max_console_bytes` were
/// captured or the console shows one of `power_off_lines`, passing console
/// chunks to `on_console` as they arrive.
fn supervise(
    child: &mut Child,
    console_chunks: Option<Receiver<Vec<u8>>>,
    (timeout, max_console_bytes): (Duration, usize),
    power_off_lines: &[&[u8]],
    console: &mut Vec<u8>,
    on_console: &mut dyn FnMut(&[u8]),
) -> Result<ExitReason, Error> {
    let deadline = Instant::now().checked_add(timeout);
    let mut take = |chunk: Vec<u8>, console: &mut Vec<u8>| {
        on_console(&chunk);
        console.extend_from_slice(&chunk);
    };
    // The child is ours; killing it by its handle touches nothing else.
    let stop = |child: &mut Child, reason: ExitReason| -> Result<ExitReason, Error> {
        let _ = child.kill();
        child.wait().map_err(Error::Wait)?;
        Ok(reason)
    };
    let exit = loop {
        match &console_chunks {
            Some(rx) => match rx.recv_timeout(POLL) {
                Ok(chunk) => {
                    // A line may straddle the previous chunk.
                    let longest = power_off_lines.iter().map(|l| l.len()).max().unwrap_or(0);
                    let from = console.len().saturating_sub(longest);
                    take(chunk, console);
                    if console.len() >= max_console_bytes {
                        break stop(child, ExitReason::SerialLimit)?;
                    }
                    let tail = console.get(from..).unwrap_or(&[]);
                    if power_off_lines.iter().any(|line| {
                        !line.is_empty() && tail.windows(line.len()).any(|w| w == *line)
                    }) {
                        break stop(child, ExitReason::PoweredOff)?;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            },
            None => std::thread::sleep(POLL),
        }
        if let Some(status) = child.try_wait().map_err(Error::Wait)? {
            break match status.code() {
                Some(code) => ExitReason::Exited(code),
                None => ExitReason::Signaled,
            };
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break stop(child, ExitReason::TimedOut)?;
        }
    };
    // QEMU is gone: the pipe ends, so the reader finishes; take the rest.
    if let Some(rx) = console_chunks {
        for chunk in rx {
            take(chunk, console);
        }
    }
    Ok(exit)
}

/// How long the supervisor waits for output before checking on QEMU.
const POLL: Duration = Duration::from_millis(20);

/// Boots `image` under QEMU and runs it until QEMU exits or
/// `config.timeout` passes.
///
/// Errors are the runner's (bad image placement, missing register, QEMU
/// missing, files not writable); what the guest did is in the
/// [`RunOutcome`].
pub fn boot_aarch64(image: &BootImage, config: &RunConfig) -> Result<RunOutcome, Error> {
    boot_aarch64_streaming(image, config, &mut |_| {})
}

/// [`boot_aarch64`], also passing the guest's console bytes to
/// `on_console` as they arrive (for people watching a boot).
pub fn boot_aarch64_streaming(
    image: &BootImage,
    config: &RunConfig,
    on_console: &mut dyn FnMut(&[u8]),
) -> Result<RunOutcome, Error> {
    let plan = plan(image)?;
    let dir = config
        .runner
        .work_dir
        .clone()
        .unwrap_or_else(fresh_work_dir);
    let result = run_plan(&plan, &dir, config, on_console);
    if !config.runner.keep_files {
        // Best effort: a leftover temporary folder is not worth failing for.
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn run_plan(
    plan: &QemuPlan,
    dir: &Path,
    config: &RunConfig,
    on_console: &mut dyn FnMut(&[u8]),
) -> Result<RunOutcome, Error> {
    let args = write_inputs(plan, dir, config)?;
    run_emulator(&config.runner.qemu, &args, config, &[], on_console)
}

/// Runs the emulator `qemu` with `args` under `config`'s limits, capturing
/// its standard output as the console; any of `power_off_lines` on the
/// console ends the run as [`ExitReason::PoweredOff`].
pub(crate) fn run_emulator<O>(
    qemu: &Path,
    args: &[OsString],
    config: &paravisor_boot::RunConfig<O>,
    power_off_lines: &[&[u8]],
    on_console: &mut dyn FnMut(&[u8]),
) -> Result<RunOutcome, Error> {
    let command = std::iter::once(qemu.as_os_str())
        .chain(args.iter().map(OsString::as_os_str))
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new(qemu)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::QemuUnavailable {
            qemu: qemu.to_path_buf(),
            reason: e.to_string(),
        })?;
    let console_chunks = child.stdout.take().map(stream_chunks);
    let stderr = child.stderr.take().map(drain);
    let mut console = Vec::new();
    let exit = supervise(
        &mut child,
        console_chunks,
        (config.timeout, config.max_serial_bytes),
        power_off_lines,
        &mut console,
        on_console,
    )?;
    let qemu_stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(RunOutcome {
        console,
        qemu_stderr: String::from_utf8_lossy(&qemu_stderr).into_owned(),
        exit,
        command,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_in_paths_are_doubled() {
        assert_eq!(
            qemu_path(Path::new("/tmp/a,b/c")),
            OsString::from("/tmp/a,,b/c")
        );
    }

    #[test]
    fn a_missing_binary_is_reported_as_unavailable() {
        let config = RunConfig {
            runner: crate::model::QemuOptions {
                qemu: PathBuf::from("/nonexistent/qemu-system-aarch64"),
                ..Default::default()
            },
            ..RunConfig::default()
        };
        let e = qemu_available(&config).unwrap_err();
        assert!(matches!(e, Error::QemuUnavailable { .. }));
        assert!(e.to_string().contains("PARAVISOR_SKIP_QEMU=1"), "{e}");
    }

    #[test]
    fn console_output_stops_the_run_at_the_limit() {
        // `yes` writes "y\n" forever: the supervisor must stop it once
        // 1000 console bytes arrived, not at the 10 s time limit.
        let mut child = Command::new("yes")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("`yes` runs");
        let chunks = child.stdout.take().map(stream_chunks);
        let mut console = Vec::new();
        let started = Instant::now();
        let exit = supervise(
            &mut child,
            chunks,
            (Duration::from_secs(10), 1000),
            &[],
            &mut console,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(exit, ExitReason::SerialLimit);
        assert!(console.len() >= 1000, "{} bytes", console.len());
        assert!(console.starts_with(b"y\ny\n"));
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(child.try_wait().unwrap().is_some(), "`yes` still runs");
    }
}
