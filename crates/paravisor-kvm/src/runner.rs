//! The vCPU run loop and its watchdog.

#![allow(unsafe_code)]

use crate::error::Error;
use crate::memory::HostMapping;
use crate::memory::merge_ranges;
use crate::model::BootImage;
use crate::model::RunConfig;
use crate::model::RunOutcome;
use crate::registers::MSR_IA32_PAT;
use crate::registers::kvm_dtable_from;
use crate::registers::kvm_segment_from;
use kvm_bindings::KVM_MAX_CPUID_ENTRIES;
use kvm_bindings::Msrs;
use kvm_bindings::kvm_msr_entry;
use kvm_bindings::kvm_userspace_memory_region;
use kvm_ioctls::Kvm;
use kvm_ioctls::VcpuExit;
use kvm_ioctls::VcpuFd;
use paravisor_boot::ExitReason;
use paravisor_boot::RamRange;
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicI32;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

/// The serial port (COM1) whose output is captured.
pub const SERIAL_PORT: u16 = 0x3F8;

/// RAM is mapped in 2 MiB granules so KVM can back it with large pages.
const RAM_GRANULE: u64 = 0x20_0000;

/// Line-status register of COM1: reads as "transmitter holding register
/// empty" and "transmitter empty".
const SERIAL_LSR: u16 = SERIAL_PORT + 5;
const LSR_THRE_TEMT: u8 = 0x60;

/// Checks that `/dev/kvm` can be opened and a VM created.
pub fn kvm_available() -> Result<(), Error> {
    let kvm = Kvm::new().map_err(|e| Error::KvmUnavailable {
        reason: format!("opening /dev/kvm: {e}"),
    })?;
    kvm.create_vm().map_err(|e| Error::KvmUnavailable {
        reason: format!("creating a VM: {e}"),
    })?;
    Ok(())
}

/// The environment variable that lets boot tests pass as "skipped" on a
/// machine without a usable `/dev/kvm`.
pub const SKIP_KVM_ENV: &str = "PARAVISOR_SKIP_KVM";

/// For tests: `Ok(true)` when KVM is usable; `Ok(false)` (after printing a
/// loud notice on stderr) when it is not and `PARAVISOR_SKIP_KVM=1` is set;
/// otherwise the error saying why KVM is unusable.
pub fn kvm_or_skip(test: &str) -> Result<bool, Error> {
    match kvm_available() {
        Ok(()) => Ok(true),
        Err(e) if std::env::var(SKIP_KVM_ENV).is_ok_and(|v| v == "1") => {
            // Written to the stderr handle, not with eprintln!, so that the
            // test harness's output capture does not hide it.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "*** SKIPPED {test}: {e} ({SKIP_KVM_ENV}=1 is set) ***"
            );
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

fn kvm_err(call: &'static str) -> impl FnOnce(kvm_ioctls::Error) -> Error {
    move |errno| Error::Kvm { call, errno }
}

/// Boots `image` on one vCPU and runs it until it halts, fails, or
/// `config.timeout` passes. Serial bytes are passed to `on_serial` as they
/// arrive, and also returned in the outcome.
pub fn boot_x64(
    image: &BootImage,
    config: &RunConfig,
    on_serial: &mut dyn FnMut(&[u8]),
) -> Result<RunOutcome, Error> {
    // Guest RAM: the caller's ranges plus every page's range, merged. The
    // mappings are created before the VM so that they are dropped after it.
    let mut wanted: Vec<RamRange> = image.ram.clone();
    for page in &image.pages {
        wanted.push(RamRange {
            gpa: page.gpa,
            size: page.data.len() as u64,
        });
    }
    let ranges = merge_ranges(&wanted, RAM_GRANULE)?;
    let mut mappings = Vec::with_capacity(ranges.len());
    for range in ranges {
        mappings.push(HostMapping::new(range)?);
    }

    let kvm = Kvm::new().map_err(|e| Error::KvmUnavailable {
        reason: format!("opening /dev/kvm: {e}"),
    })?;
    let vm = kvm.create_vm().map_err(|e| Error::KvmUnavailable {
        reason: format!("creating a VM: {e}"),
    })?;
    for (slot, mapping) in (0u32..).zip(&mappings) {
        let region = kvm_userspace_memory_region {
            slot,
            flags: 0,
            guest_phys_addr: mapping.range.gpa,
            memory_size: mapping.range.size,
            userspace_addr: mapping.host_address(),
        };
        // SAFETY: the host range is a live, private mapping of exactly
        // memory_size bytes, used for nothing else, that outlives the VM:
        // `mappings` is declared before `vm`, so on every path (early
        // returns included) the VM is dropped first.
        unsafe { vm.set_user_memory_region(region) }
            .map_err(kvm_err("KVM_SET_USER_MEMORY_REGION"))?;
    }
    for page in &image.pages {
        let mapping = mappings
            .iter_mut()
            .find(|m| {
                page.gpa >= m.range.gpa
                    && m.range
                        .end()
                        .is_some_and(|end| page.gpa.saturating_add(page.data.len() as u64) <= end)
            })
            .ok_or(Error::PageOutsideRam {
                gpa: page.gpa,
                len: page.data.len() as u64,
            })?;
        mapping.write(page.gpa, &page.data)?;
    }

    let mut vcpu = vm.create_vcpu(0).map_err(kvm_err("KVM_CREATE_VCPU"))?;
    // The guest CPUID must advertise what the boot state uses (CR4.OSXSAVE
    // is refused unless XSAVE is in the guest CPUID).
    let cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .map_err(kvm_err("KVM_GET_SUPPORTED_CPUID"))?;
    vcpu.set_cpuid2(&cpuid).map_err(kvm_err("KVM_SET_CPUID2"))?;
    set_registers(&vcpu, image)?;

    // Locals drop in reverse order: vcpu, vm, then the RAM mappings.
    run_loop(&mut vcpu, config, on_serial)
}

fn set_registers(vcpu: &VcpuFd, image: &BootImage) -> Result<(), Error> {
    let r = &image.registers;
    let mut sregs = vcpu.get_sregs().map_err(kvm_err("KVM_GET_SREGS"))?;
    let segments = [
        (&r.cs, &mut sregs.cs),
        (&r.ds, &mut sregs.ds),
        (&r.es, &mut sregs.es),
        (&r.fs, &mut sregs.fs),
        (&r.gs, &mut sregs.gs),
        (&r.ss, &mut sregs.ss),
        (&r.tr, &mut sregs.tr),
    ];
    for (value, target) in segments {
        if let Some(value) = value {
            *target = kvm_segment_from(value);
        }
    }
    if let Some(gdtr) = &r.gdtr {
        sregs.gdt = kvm_dtable_from(gdtr);
    }
    if let Some(idtr) = &r.idtr {
        sregs.idt = kvm_dtable_from(idtr);
    }
    if let Some(cr0) = r.cr0 {
        sregs.cr0 = cr0;
    }
    if let Some(cr3) = r.cr3 {
        sregs.cr3 = cr3;
    }
    if let Some(cr4) = r.cr4 {
        sregs.cr4 = cr4;
    }
    if let Some(efer) = r.efer {
        sregs.efer = efer;
    }
    vcpu.set_sregs(&sregs).map_err(kvm_err("KVM_SET_SREGS"))?;

    let mut regs = vcpu.get_regs().map_err(kvm_err("KVM_GET_REGS"))?;
    let gprs = [
        (r.rip, &mut regs.rip),
        (r.rsi, &mut regs.rsi),
        (r.rsp, &mut regs.rsp),
        (r.rbp, &mut regs.rbp),
        (r.r8, &mut regs.r8),
        (r.r9, &mut regs.r9),
        (r.r10, &mut regs.r10),
        (r.r11, &mut regs.r11),
        (r.r12, &mut regs.r12),
    ];
    for (value, target) in gprs {
        if let Some(value) = value {
            *target = value;
        }
    }
    regs.rflags = r.rflags.unwrap_or(2);
    vcpu.set_regs(&regs).map_err(kvm_err("KVM_SET_REGS"))?;

    if let Some(pat) = r.pat {
        let msrs = Msrs::from_entries(&[kvm_msr_entry {
            index: MSR_IA32_PAT,
            data: pat,
            ..Default::default()
        }])
        .map_err(|e| Error::Watchdog(format!("building the MSR list: {e:?}")))?;
        let written = vcpu.set_msrs(&msrs).map_err(kvm_err("KVM_SET_MSRS"))?;
        if written != 1 {
            return Err(Error::Kvm {
                call: "KVM_SET_MSRS (IA32_PAT)",
                errno: kvm_ioctls::Error::new(libc::EINVAL),
            });
        }
    }
    Ok(())
}

/// The signal that kicks the vCPU thread out of `KVM_RUN`.
fn kick_signal() -> libc::c_int {
    libc::SIGRTMIN()
}

extern "C" fn on_kick(_: libc::c_int) {}

fn install_kick_handler() -> Result<(), Error> {
    static INSTALL: Once = Once::new();
    static RESULT: AtomicI32 = AtomicI32::new(0);
    INSTALL.call_once(|| {
        // SAFETY: sigaction with a zeroed struct, an empty mask and a handler
        // that does nothing (async-signal safe); the old action is not
        // needed. No SA_RESTART: KVM_RUN must return EINTR.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_kick as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(kick_signal(), &action, std::ptr::null_mut())
        };
        RESULT.store(rc, Ordering::SeqCst);
    });
    let rc = RESULT.load(Ordering::SeqCst);
    if rc != 0 {
        return Err(Error::Watchdog(format!(
            "installing the signal handler failed ({rc})"
        )));
    }
    Ok(())
}

/// A watchdog thread that, once the time limit passes, sets `timed_out` and
/// signals the vCPU thread until it says it is done.
struct Watchdog {
    stop: Option<mpsc::Sender<()>>,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(timeout: Duration, timed_out: Arc<AtomicBool>) -> Result<Self, Error> {
        install_kick_handler()?;
        // SAFETY: pthread_self has no preconditions.
        let target = unsafe { libc::pthread_self() };
        let (stop, stopped) = mpsc::channel::<()>();
        let done = Arc::new(AtomicBool::new(false));
        let done_in_thread = Arc::clone(&done);
        let thread = std::thread::Builder::new()
            .name("kvm-watchdog".into())
            .spawn(move || {
                if !matches!(
                    stopped.recv_timeout(timeout),
                    Err(mpsc::RecvTimeoutError::Timeout)
                ) {
                    return;
                }
                timed_out.store(true, Ordering::SeqCst);
                // Keep kicking: a signal that lands while the vCPU thread is
                // outside KVM_RUN is lost, but the thread checks `timed_out`
                // before every entry.
                while !done_in_thread.load(Ordering::SeqCst) {
                    // SAFETY: `target` is the vCPU thread, which is alive:
                    // it joins this thread before it returns.
                    unsafe { libc::pthread_kill(target, kick_signal()) };
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
            .map_err(|e| Error::Watchdog(e.to_string()))?;
        Ok(Self {
            stop: Some(stop),
            done,
            thread: Some(thread),
        })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run_loop(
    vcpu: &mut VcpuFd,
    config: &RunConfig,
    on_serial: &mut dyn FnMut(&[u8]),
) -> Result<RunOutcome, Error> {
    let timed_out = Arc::new(AtomicBool::new(false));
    let watchdog = Watchdog::start(config.timeout, Arc::clone(&timed_out))?;
    let mut serial = Vec::new();
    let exit = loop {
        if timed_out.load(Ordering::SeqCst) {
            break ExitReason::TimedOut;
        }
        if serial.len() >= config.max_serial_bytes {
            break ExitReason::SerialLimit;
        }
        match vcpu.run() {
            Ok(VcpuExit::IoOut(port, data)) => {
                if port == SERIAL_PORT {
                    serial.extend_from_slice(data);
                    on_serial(data);
                }
            }
            Ok(VcpuExit::IoIn(port, data)) => {
                let value = if port == SERIAL_LSR {
                    LSR_THRE_TEMT
                } else {
                    0xFF
                };
                data.fill(value);
            }
            Ok(VcpuExit::Hlt) => break ExitReason::Halted,
            Ok(VcpuExit::Shutdown) => break ExitReason::Shutdown,
            Ok(VcpuExit::FailEntry(reason, _cpu)) => break ExitReason::FailEntry { reason },
            Ok(VcpuExit::InternalError) => {
                // SAFETY: exit_reason is KVM_EXIT_INTERNAL_ERROR, so the
                // `internal` member of the union is the one KVM filled in.
                let suberror = unsafe { vcpu.get_kvm_run().__bindgen_anon_1.internal.suberror };
                break ExitReason::InternalError { suberror };
            }
            Ok(VcpuExit::MmioRead(gpa, _)) => {
                break ExitReason::UnexpectedMmio { gpa, write: false };
            }
            Ok(VcpuExit::MmioWrite(gpa, _)) => {
                break ExitReason::UnexpectedMmio { gpa, write: true };
            }
            Ok(VcpuExit::Intr) => {}
            Ok(other) => break ExitReason::Other(format!("{other:?}")),
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {}
            Err(e) => {
                drop(watchdog);
                return Err(Error::Kvm {
                    call: "KVM_RUN",
                    errno: e,
                });
            }
        }
    };
    drop(watchdog);
    let final_rip = vcpu.get_regs().ok().map(|regs| regs.rip);
    Ok(RunOutcome {
        serial,
        exit,
        final_rip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PageData;
    use crate::SegmentRegister;
    use crate::TableRegister;
    use crate::X64Registers;

    // A minimal long-mode image in the paravisor's register layout
    // (docs/abi.md §4.1–§4.5): PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000
    // identity mapping GPA 0..2 MiB with one 2 MiB page, GDT at 0x4000, code
    // at 0x5000.
    const CODE: u64 = 0x5000;

    fn image(code: &[u8]) -> BootImage {
        let mut gdt = vec![0u8; 16];
        gdt.extend_from_slice(&0x00A0_9B00_0000_FFFF_u64.to_le_bytes());
        gdt.extend_from_slice(&0x00C0_9300_0000_FFFF_u64.to_le_bytes());
        let data = SegmentRegister {
            base: 0,
            limit: 0xFFFF_FFFF,
            selector: 0x18,
            attributes: 0xC093,
        };
        BootImage {
            ram: vec![],
            pages: vec![
                PageData {
                    gpa: 0x1000,
                    data: (0x2000_u64 | 0x23).to_le_bytes().to_vec(),
                },
                PageData {
                    gpa: 0x2000,
                    data: (0x3000_u64 | 0x23).to_le_bytes().to_vec(),
                },
                PageData {
                    gpa: 0x3000,
                    data: 0xE3_u64.to_le_bytes().to_vec(),
                },
                PageData {
                    gpa: 0x4000,
                    data: gdt,
                },
                PageData {
                    gpa: CODE,
                    data: code.to_vec(),
                },
            ],
            registers: X64Registers {
                gdtr: Some(TableRegister {
                    base: 0x4000,
                    limit: 0x1F,
                }),
                ds: Some(data),
                es: Some(data),
                fs: Some(data),
                gs: Some(data),
                ss: Some(data),
                cs: Some(SegmentRegister {
                    base: 0,
                    limit: 0xFFFF_FFFF,
                    selector: 0x10,
                    attributes: 0xA09B,
                }),
                tr: Some(SegmentRegister {
                    base: 0,
                    limit: 0xFFFF,
                    selector: 0,
                    attributes: 0x8B,
                }),
                cr0: Some(0x8000_0021),
                cr3: Some(0x1000),
                cr4: Some(0x4_0060),
                efer: Some(0xD00),
                pat: Some(0x0007_0406_0007_0406),
                rsi: Some(0x1234),
                rip: Some(CODE),
                ..Default::default()
            },
        }
    }

    fn run(code: &[u8], timeout: Duration) -> Option<RunOutcome> {
        if !kvm_or_skip("paravisor-kvm runner test").unwrap() {
            return None;
        }
        let config = RunConfig {
            timeout,
            ..RunConfig::default()
        };
        let mut streamed = Vec::new();
        let outcome = boot_x64(&image(code), &config, &mut |bytes| {
            streamed.extend_from_slice(bytes)
        })
        .unwrap();
        // The callback sees exactly what the outcome reports, in order.
        assert_eq!(streamed, outcome.serial);
        Some(outcome)
    }

    #[test]
    fn long_mode_code_prints_and_halts() {
        // mov dx, 0x3f8; mov al, 'O'; out dx, al; mov al, 'K'; out dx, al; hlt
        let code = [
            0x66, 0xBA, 0xF8, 0x03, 0xB0, b'O', 0xEE, 0xB0, b'K', 0xEE, 0xF4,
        ];
        let Some(outcome) = run(&code, Duration::from_secs(10)) else {
            return;
        };
        assert_eq!(outcome.exit, ExitReason::Halted);
        assert_eq!(outcome.serial, b"OK");
        // HLT exits with RIP after the instruction.
        assert_eq!(outcome.final_rip, Some(CODE + code.len() as u64));
    }

    #[test]
    fn registers_reach_the_guest_exactly() {
        // Emit, as 8-byte little-endian values: RSI, PAT (rdmsr 0x277), CR0,
        // CR4, EFER (rdmsr 0xC000_0080), CR3; then CS and TR selectors
        // (2 bytes each); then hlt.
        let mut code = vec![0x49, 0x89, 0xF0]; // mov r8, rsi
        let emit_r8: &[u8] = &[
            0x66, 0xBA, 0xF8, 0x03, // mov dx, 0x3f8
            0xB9, 0x08, 0x00, 0x00, 0x00, // mov ecx, 8
            0x44, 0x88, 0xC0, // mov al, r8b
            0xEE, // out dx, al
            0x49, 0xC1, 0xE8, 0x08, // shr r8, 8
            0xFF, 0xC9, // dec ecx
            0x75, 0xF4, // jnz back to mov al, r8b
        ];
        code.extend_from_slice(emit_r8);
        // mov ecx, 0x277; rdmsr; shl rdx, 32; or rax, rdx; mov r8, rax
        code.extend_from_slice(&[0xB9, 0x77, 0x02, 0x00, 0x00, 0x0F, 0x32]);
        code.extend_from_slice(&[0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0, 0x49, 0x89, 0xC0]);
        code.extend_from_slice(emit_r8);
        // mov r8, cr0
        code.extend_from_slice(&[0x41, 0x0F, 0x20, 0xC0]);
        code.extend_from_slice(emit_r8);
        // mov r8, cr4
        code.extend_from_slice(&[0x41, 0x0F, 0x20, 0xE0]);
        code.extend_from_slice(emit_r8);
        // mov ecx, 0xC0000080; rdmsr; shl rdx, 32; or rax, rdx; mov r8, rax
        code.extend_from_slice(&[0xB9, 0x80, 0x00, 0x00, 0xC0, 0x0F, 0x32]);
        code.extend_from_slice(&[0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0, 0x49, 0x89, 0xC0]);
        code.extend_from_slice(emit_r8);
        // mov r8, cr3
        code.extend_from_slice(&[0x41, 0x0F, 0x20, 0xD8]);
        code.extend_from_slice(emit_r8);
        // mov r8w... simpler: mov eax, cs; out 2 bytes; str ax; out 2 bytes
        code.extend_from_slice(&[0x8C, 0xC8, 0xEE, 0x88, 0xE0, 0xEE]); // mov eax,cs; out; mov al,ah; out
        code.extend_from_slice(&[0x0F, 0x00, 0xC8, 0xEE, 0x88, 0xE0, 0xEE]); // str eax; out; mov al,ah; out
        code.push(0xF4);
        let Some(outcome) = run(&code, Duration::from_secs(10)) else {
            return;
        };
        assert_eq!(
            outcome.exit,
            ExitReason::Halted,
            "serial {:x?}",
            outcome.serial
        );
        let s = &outcome.serial;
        assert_eq!(s.len(), 6 * 8 + 4, "serial {s:x?}");
        let q = |i: usize| u64::from_le_bytes(s[i * 8..i * 8 + 8].try_into().unwrap());
        assert_eq!(q(0), 0x1234, "RSI");
        assert_eq!(q(1), 0x0007_0406_0007_0406, "PAT (docs/abi.md §4.1)");
        assert_eq!(q(2), 0x8000_0021, "CR0 (docs/abi.md §4.1)");
        // The guest sees CR4 exactly as set.
        assert_eq!(q(3), 0x4_0060, "CR4 (docs/abi.md §4.1)");
        assert_eq!(q(4), 0xD00, "EFER (docs/abi.md §4.1)");
        assert_eq!(q(5), 0x1000, "CR3");
        assert_eq!(&s[48..50], &[0x10, 0x00], "CS selector");
        assert_eq!(&s[50..52], &[0x00, 0x00], "TR selector");
    }

    #[test]
    fn a_spinning_guest_times_out() {
        let Some(outcome) = run(&[0xEB, 0xFE], Duration::from_millis(300)) else {
            return;
        };
        assert_eq!(outcome.exit, ExitReason::TimedOut);
        assert_eq!(outcome.final_rip, Some(CODE));
    }

    #[test]
    fn kvm_holds_every_register_exactly_as_imported() {
        if !kvm_or_skip("paravisor-kvm runner test").unwrap() {
            return;
        }
        let image = image(&[0xF4]);
        let kvm = Kvm::new().unwrap();
        let vm = kvm.create_vm().unwrap();
        let vcpu = vm.create_vcpu(0).unwrap();
        let cpuid = kvm.get_supported_cpuid(KVM_MAX_CPUID_ENTRIES).unwrap();
        vcpu.set_cpuid2(&cpuid).unwrap();
        set_registers(&vcpu, &image).unwrap();
        let r = &image.registers;
        let sregs = vcpu.get_sregs().unwrap();
        let segments = [
            (r.cs, sregs.cs),
            (r.ds, sregs.ds),
            (r.es, sregs.es),
            (r.fs, sregs.fs),
            (r.gs, sregs.gs),
            (r.ss, sregs.ss),
            (r.tr, sregs.tr),
        ];
        for (want, got) in segments {
            let want = want.unwrap();
            assert_eq!(
                (
                    got.base,
                    got.limit,
                    got.selector,
                    crate::attributes_of(&got)
                ),
                (want.base, want.limit, want.selector, want.attributes)
            );
        }
        assert_eq!((sregs.gdt.base, sregs.gdt.limit), (0x4000, 0x1F));
        // KVM may keep CR0.ET (bit 4, hard-wired to 1 on x86-64) set.
        assert_eq!(sregs.cr0 & !0x10, 0x8000_0021);
        assert_eq!(
            (sregs.cr3, sregs.cr4, sregs.efer),
            (0x1000, 0x4_0060, 0xD00)
        );
        let regs = vcpu.get_regs().unwrap();
        assert_eq!((regs.rip, regs.rsi, regs.rflags), (CODE, 0x1234, 2));
        let mut msrs = Msrs::from_entries(&[kvm_msr_entry {
            index: MSR_IA32_PAT,
            ..Default::default()
        }])
        .unwrap();
        assert_eq!(vcpu.get_msrs(&mut msrs).unwrap(), 1);
        assert_eq!(msrs.as_slice()[0].data, 0x0007_0406_0007_0406);
    }

    #[test]
    fn serial_output_stops_at_the_limit() {
        // mov dx, 0x3f8; mov al, 'x'; loop: out dx, al; jmp loop
        let code = [0x66, 0xBA, 0xF8, 0x03, 0xB0, b'x', 0xEE, 0xEB, 0xFD];
        if !kvm_or_skip("paravisor-kvm runner test").unwrap() {
            return;
        }
        let config = RunConfig {
            timeout: Duration::from_secs(10),
            max_serial_bytes: 100,
            ..RunConfig::default()
        };
        let outcome = boot_x64(&image(&code), &config, &mut |_| {}).unwrap();
        assert_eq!(outcome.exit, ExitReason::SerialLimit);
        assert_eq!(outcome.serial, vec![b'x'; 100]);
    }

    #[test]
    fn a_jump_to_unmapped_memory_shuts_down() {
        // mov rax, 0x4000_0000 (not mapped by the one 2 MiB page); jmp rax
        let code = [0x48, 0xC7, 0xC0, 0x00, 0x00, 0x00, 0x40, 0xFF, 0xE0];
        let Some(outcome) = run(&code, Duration::from_secs(10)) else {
            return;
        };
        assert_eq!(outcome.exit, ExitReason::Shutdown);
    }
}
