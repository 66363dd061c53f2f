//! Linux mode: booting a real kernel `Image` from the loader's image.
//!
//! The Rust test shim (`tests/arm64-shim/rust`) hands off to the kernel as
//! OpenHCL's boot shim does: it builds the kernel's device tree from the
//! image (VTL2 memory, command line, initrd) and the machine this runner
//! starts, and enters the `Image` with the MMU off and x0 = the tree. The
//! runner's part is the VMM's:
//!
//! * the console: the PL011 UART shares QEMU's standard output with the
//!   semihosting console (see the runner), so [`LINUX_CONSOLE_ARGS`] on the
//!   image's command line makes the kernel print there, from its first
//!   line on (`earlycon` finds the UART through the tree's `stdout-path`);
//! * the host's device tree: a VMM hands the paravisor a device tree in the
//!   image's device-tree parameter area (parameter type `DeviceTree`, the
//!   "underhill-device-tree" area, `docs/abi.md` §1.2). When the image's
//!   command line is host-appendable the shim appends the tree's
//!   `/chosen/bootargs`; [`with_host_bootargs`] puts such a tree there;
//! * the end: the kernel powers off through PSCI (`SYSTEM_OFF` over SMC)
//!   and QEMU exits with status 0; a kernel panic reboots, which
//!   `-no-reboot` also turns into an exit with status 0 — so whether the
//!   kernel reached user space is told by the console, never by the exit
//!   status.

use crate::error::Error;
use crate::model::BootImage;
use crate::model::BootImageImporter;
use paravisor_boot::PageData;
use paravisor_host::recording::Call;
use paravisor_loader::PAGE_SIZE;
use paravisor_loader::ParameterType;
use std::time::Duration;

/// Command-line words that send a kernel's console (and its early console)
/// to the PL011 UART the runner captures.
pub const LINUX_CONSOLE_ARGS: &str = "console=ttyAMA0 earlycon";

/// A time limit for a Linux boot under TCG: Debian's kernels reach user
/// space in 2–6 s on these machines; a loaded machine may take several
/// times that.
pub const LINUX_TIMEOUT: Duration = Duration::from_secs(120);

/// The guest-physical address of the image's device-tree parameter (the
/// parameter of type `DeviceTree`: its area's first page plus its byte
/// offset), or `None` when the image has none.
pub fn device_tree_parameter_gpa(importer: &BootImageImporter) -> Option<u64> {
    let calls = importer.recording().calls();
    let areas: Vec<u64> = calls
        .iter()
        .filter_map(|call| match call {
            Call::CreateParameterArea { page_base, .. } => Some(*page_base),
            _ => None,
        })
        .collect();
    calls.iter().find_map(|call| match call {
        Call::ImportParameter {
            area,
            byte_offset,
            parameter: ParameterType::DeviceTree,
        } => {
            let page_base = areas.get(usize::try_from(*area).ok()?)?;
            page_base
                .checked_mul(PAGE_SIZE)?
                .checked_add(u64::from(*byte_offset))
        }
        _ => None,
    })
}

/// The device tree a VMM hands the paravisor, reduced to what the shim
/// reads: the root (two address and size cells) and `/chosen/bootargs` =
/// `bootargs`.
pub fn host_device_tree(bootargs: &str) -> Result<Vec<u8>, Error> {
    let fdt = |e: vm_fdt::Error| Error::HostDeviceTree(e.to_string());
    let mut w = vm_fdt::FdtWriter::new().map_err(fdt)?;
    let root = w.begin_node("").map_err(fdt)?;
    w.property_u32("#address-cells", 2).map_err(fdt)?;
    w.property_u32("#size-cells", 2).map_err(fdt)?;
    let chosen = w.begin_node("chosen").map_err(fdt)?;
    w.property_string("bootargs", bootargs).map_err(fdt)?;
    w.end_node(chosen).map_err(fdt)?;
    w.end_node(root).map_err(fdt)?;
    w.finish().map_err(fdt)
}

/// Puts the host's device tree with `/chosen/bootargs` = `bootargs`
/// ([`host_device_tree`]) into `image` at the device-tree parameter of the
/// image `importer` recorded, as a VMM does at launch.
pub fn with_host_bootargs(
    image: &mut BootImage,
    importer: &BootImageImporter,
    bootargs: &str,
) -> Result<(), Error> {
    let gpa = device_tree_parameter_gpa(importer).ok_or(Error::NoDeviceTreeParameter)?;
    image.pages.push(PageData {
        gpa,
        data: host_device_tree(bootargs)?,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use paravisor_loader::ImportPages;
    use paravisor_loader::IsolationConfig;
    use paravisor_loader::IsolationType;
    use paravisor_loader::ParameterAreaIndex;
    use paravisor_loader::ParavisorImporter;

    fn importer() -> BootImageImporter {
        BootImageImporter::new(IsolationConfig {
            isolation_type: IsolationType::None,
            paravisor_present: true,
            shared_gpa_boundary_bits: None,
        })
    }

    #[test]
    fn finds_the_device_tree_parameter() {
        let mut i = importer();
        assert_eq!(device_tree_parameter_gpa(&i), None);
        let slit = i
            .create_parameter_area(0x4900, 20, "underhill-slit")
            .unwrap();
        i.import_parameter(slit, 0, ParameterType::Slit).unwrap();
        let dt: ParameterAreaIndex = i
            .create_parameter_area(0x4928, 64, "underhill-device-tree")
            .unwrap();
        i.import_parameter(dt, 0x10, ParameterType::DeviceTree)
            .unwrap();
        assert_eq!(device_tree_parameter_gpa(&i), Some(0x492_8010));
    }

    #[test]
    fn host_tree_holds_the_bootargs() {
        let tree = host_device_tree("quiet x=1").unwrap();
        // Header magic 0xD00DFEED, big endian.
        assert_eq!(tree[..4], [0xD0, 0x0D, 0xFE, 0xED]);
        let text = b"quiet x=1\0";
        assert!(tree.windows(text.len()).any(|w| w == text));
        assert!(tree.windows(9).any(|w| w == b"bootargs\0"));
    }

    #[test]
    fn an_image_without_the_parameter_is_refused() {
        let i = importer();
        let mut image = i.zero_filled_image();
        assert!(matches!(
            with_host_bootargs(&mut image, &i, "a"),
            Err(Error::NoDeviceTreeParameter)
        ));
        let mut i = importer();
        let dt = i
            .create_parameter_area(0x4928, 64, "underhill-device-tree")
            .unwrap();
        i.import_parameter(dt, 0, ParameterType::DeviceTree)
            .unwrap();
        i.import_pages(
            0x4800,
            1,
            "x",
            paravisor_loader::PageAcceptance::Exclusive,
            &[1],
        )
        .unwrap();
        let mut image = i.zero_filled_image();
        with_host_bootargs(&mut image, &i, "a").unwrap();
        assert_eq!(image.pages.last().unwrap().gpa, 0x492_8000);
    }
}
