//! arm64 `Image` loading (`plan_arm64_image`, `Arm64ImagePlan::import`,
//! `load_arm64_image`) with an arbitrary file, kernel start and initrd.
//!
//! Input: kernel_minimum_start (u64 LE), initrd length for the plan-only
//! check (u64 LE), initrd length for the load (u16 LE), then the file.
//!
//! Invariants: an invalid input imports nothing; a valid one places the
//! kernel at the requested 2 MiB-aligned start, the entry point at start +
//! text_offset, the initrd at the next 2 MiB boundary at or after the kernel
//! end; the kernel and initrd imports do not overlap and carry no more data
//! than pages.
#![no_main]

use elf_static_loader::load_arm64_image;
use elf_static_loader::plan_arm64_image;
use libfuzzer_sys::fuzz_target;
use paravisor_fuzz::Bytes;
use paravisor_fuzz::Recorder;
use paravisor_fuzz::assert_disjoint;

const LARGE_PAGE: u64 = 0x20_0000;

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes::new(data);
    let kernel_minimum_start = input.u64();
    let huge_initrd_len = input.u64();
    let initrd_len = usize::from(input.u16());
    let image = input.rest();

    // Plan only, with any initrd length (no bytes needed).
    if let Ok(plan) = plan_arm64_image(image, kernel_minimum_start, huge_initrd_len) {
        let initrd = plan.initrd();
        assert_eq!(initrd.size, huge_initrd_len);
        assert_eq!(initrd.gpa % LARGE_PAGE, 0);
    }

    let initrd = vec![0x5Au8; initrd_len];
    let planned = plan_arm64_image(image, kernel_minimum_start, initrd_len as u64);
    let mut loaded = Recorder::default();
    let result = load_arm64_image(&mut loaded, image, kernel_minimum_start, &initrd);
    let plan = match planned {
        Err(error) => {
            assert!(result.is_err(), "plan failed ({error}) but load succeeded");
            assert!(loaded.imports.is_empty(), "error {error} after imports");
            return;
        }
        Ok(plan) => plan,
    };
    let info = result.unwrap_or_else(|e| panic!("plan ok, load failed: {e}"));
    let kernel = plan.kernel();
    assert_eq!(info.kernel, kernel);
    assert_eq!(info.initrd, plan.initrd());

    let text_offset = u64::from_le_bytes(image[8..16].try_into().unwrap_or_default());
    assert_eq!(kernel.gpa, kernel_minimum_start);
    assert_eq!(kernel.gpa % LARGE_PAGE, 0);
    assert_eq!(kernel.entrypoint, kernel.gpa + text_offset);
    assert_eq!(kernel.size % 4096, 0);
    assert!(image.len() as u64 <= kernel.size);
    let kernel_end = kernel.entrypoint + kernel.size;
    assert!(info.initrd.gpa >= kernel_end, "{info:?}");
    assert!(info.initrd.gpa - kernel_end < LARGE_PAGE, "{info:?}");
    assert_eq!(info.initrd.gpa % LARGE_PAGE, 0);
    assert_eq!(info.initrd.size, initrd_len as u64);

    let mut imported = Recorder::default();
    let Ok(()) = plan.import(&mut imported, &initrd);
    assert_eq!(imported.imports, loaded.imports);
    assert_eq!(imported.imports.len(), 2);
    assert_disjoint(&imported.imports);
});
