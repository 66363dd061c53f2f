//! The guest console of `paravisor boot`: the guest's bytes go to stdout
//! as they arrive, for every runner (KVM, QEMU x86-64, QEMU AArch64).

use std::io::Write;

/// Runs `boot` with a console sink that writes the guest's bytes to stdout
/// as they arrive (best effort: a closed stdout must not stop the guest).
pub(crate) fn with_console_on_stdout<T>(boot: impl FnOnce(&mut dyn FnMut(&[u8])) -> T) -> T {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    boot(&mut |bytes| {
        let _ = out.write_all(bytes);
        let _ = out.flush();
    })
}
