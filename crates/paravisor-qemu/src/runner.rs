//! Starting `qemu-system-aarch64`, feeding it the plan and collecting what
//! the guest printed.

use crate::BootImage;
use crate::Error;
use crate::ExitReason;
use crate::RunConfig;
use crate::RunOutcome;
use crate::plan::QemuPlan;
use crate::plan::plan;
use std::ffi::OsString;
use std::io::Read;
use std::path::Path;
use std::path::PathBuf;
use std::process::Child;
use std::process::Command;
use std::process::Stdio;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;
use std::time::Instant;

/// The emulator binary looked up in `PATH` by default.
pub const QEMU_BINARY: &str = "qemu-system-aarch64";

/// Environment variable naming the emulator binary to use instead of
/// [`QEMU_BINARY`].
pub const QEMU_ENV: &str = "PARAVISOR_QEMU";

/// Environment variable that turns "QEMU is missing" from a test failure
/// into a loudly reported skip (value `1`).
pub const SKIP_QEMU_ENV: &str = "PARAVISOR_SKIP_QEMU";

/// Checks that `config.qemu` runs (`--version`).
pub fn qemu_available(config: &RunConfig) -> Result<(), Error> {
    let unavailable = |reason: String| Error::QemuUnavailable {
        qemu: config.qemu.clone(),
        reason,
    };
    let output = Command::new(&config.qemu)
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
fn qemu_path(path: &Path) -> OsString {
    OsString::from(path.to_string_lossy().replace(',', ",,"))
}

fn fresh_work_dir() -> PathBuf {
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
    std::fs::create_dir_all(dir).map_err(|source| Error::WriteFile {
        path: dir.to_path_buf(),
        source,
    })?;
    let bios = write_file(dir.join("bios.bin"), &plan.bios)?;
    let mut args: Vec<OsString> = [
        "-M",
        "virt,virtualization=on",
        "-smp",
        "1",
        "-nodefaults",
        "-display",
        "none",
        "-no-reboot",
        "-chardev",
        "stdio,id=semihosting",
        "-semihosting-config",
        "enable=on,target=native,chardev=semihosting",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push("-cpu".into());
    args.push(config.cpu.clone().into());
    args.push("-m".into());
    args.push(format!("{}M", plan.ram_mib).into());
    args.push("-bios".into());
    args.push(bios.into_os_string());
    for (i, chunk) in plan.ram_chunks.iter().enumerate() {
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

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Result<ExitReason, Error> {
    let deadline = Instant::now().checked_add(timeout);
    loop {
        if let Some(status) = child.try_wait().map_err(Error::Wait)? {
            return Ok(match status.code() {
                Some(code) => ExitReason::Exited(code),
                None => ExitReason::Signaled,
            });
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // The child is ours; killing it by its handle touches nothing else.
            let _ = child.kill();
            child.wait().map_err(Error::Wait)?;
            return Ok(ExitReason::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Boots `image` under QEMU and runs it until QEMU exits or
/// `config.timeout` passes.
///
/// Errors are the runner's (bad image placement, missing register, QEMU
/// missing, files not writable); what the guest did is in the
/// [`RunOutcome`].
pub fn boot_aarch64(image: &BootImage, config: &RunConfig) -> Result<RunOutcome, Error> {
    let plan = plan(image)?;
    let dir = config.work_dir.clone().unwrap_or_else(fresh_work_dir);
    let result = run_plan(&plan, &dir, config);
    if !config.keep_files {
        // Best effort: a leftover temporary folder is not worth failing for.
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn run_plan(plan: &QemuPlan, dir: &Path, config: &RunConfig) -> Result<RunOutcome, Error> {
    let args = write_inputs(plan, dir, config)?;
    let command = std::iter::once(config.qemu.as_os_str())
        .chain(args.iter().map(OsString::as_os_str))
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new(&config.qemu)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::QemuUnavailable {
            qemu: config.qemu.clone(),
            reason: e.to_string(),
        })?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let exit = wait_with_timeout(&mut child, config.timeout)?;
    let console = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
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
            qemu: PathBuf::from("/nonexistent/qemu-system-aarch64"),
            ..RunConfig::default()
        };
        let e = qemu_available(&config).unwrap_err();
        assert!(matches!(e, Error::QemuUnavailable { .. }));
        assert!(e.to_string().contains("PARAVISOR_SKIP_QEMU=1"), "{e}");
    }
}
