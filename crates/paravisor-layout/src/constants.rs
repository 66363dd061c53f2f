//! Page counts, page indices and addresses of the paravisor layout
//! (docs/abi.md §1.1 and §1.2, `loader_defs::paravisor` in the original).

/// Size of a guest page in bytes (`HV_PAGE_SIZE`).
pub const HV_PAGE_SIZE: u64 = 0x1000;

// --- Unmeasured VTL2 config region (the start of the parameter region) ----

/// Pages reserved for the SLIT parameter area.
pub const PARAVISOR_CONFIG_SLIT_SIZE_PAGES: u64 = 20;
/// Pages reserved for the PPTT parameter area.
pub const PARAVISOR_CONFIG_PPTT_SIZE_PAGES: u64 = 20;
/// Pages reserved for the device-tree parameter area.
pub const PARAVISOR_CONFIG_DEVICE_TREE_SIZE_PAGES: u64 = 64;
/// Total pages of the unmeasured config region: 20 + 20 + 64 = 104.
pub const PARAVISOR_UNMEASURED_VTL2_CONFIG_REGION_PAGE_COUNT_MAX: u64 =
    PARAVISOR_CONFIG_SLIT_SIZE_PAGES
        + PARAVISOR_CONFIG_PPTT_SIZE_PAGES
        + PARAVISOR_CONFIG_DEVICE_TREE_SIZE_PAGES;

/// Page index of the SLIT inside the parameter region.
pub const PARAVISOR_CONFIG_SLIT_PAGE_INDEX: u64 = 0;
/// Page index of the PPTT: SLIT index + SLIT size = 20.
pub const PARAVISOR_CONFIG_PPTT_PAGE_INDEX: u64 =
    PARAVISOR_CONFIG_SLIT_PAGE_INDEX + PARAVISOR_CONFIG_SLIT_SIZE_PAGES;
/// Page index of the device tree: PPTT index + PPTT size = 40.
pub const PARAVISOR_CONFIG_DEVICE_TREE_PAGE_INDEX: u64 =
    PARAVISOR_CONFIG_PPTT_PAGE_INDEX + PARAVISOR_CONFIG_PPTT_SIZE_PAGES;
/// Page index where the unmeasured config region starts (= SLIT index).
pub const PARAVISOR_UNMEASURED_VTL2_CONFIG_REGION_BASE_INDEX: u64 =
    PARAVISOR_CONFIG_SLIT_PAGE_INDEX;

// --- VTL2 reserved region (x86-64; contents only on SNP) -------------------

/// Pages for the SNP CPUID page and its extended-state page.
pub const PARAVISOR_RESERVED_VTL2_SNP_CPUID_SIZE_PAGES: u64 = 2;
/// Pages for the SNP VMSA.
pub const PARAVISOR_RESERVED_VTL2_SNP_VMSA_SIZE_PAGES: u64 = 1;
/// Pages for the SNP secrets page.
pub const PARAVISOR_RESERVED_VTL2_SNP_SECRETS_SIZE_PAGES: u64 = 1;
/// Total pages of the reserved region: 2 + 1 + 1 = 4.
pub const PARAVISOR_RESERVED_VTL2_PAGE_COUNT_MAX: u64 = PARAVISOR_RESERVED_VTL2_SNP_CPUID_SIZE_PAGES
    + PARAVISOR_RESERVED_VTL2_SNP_VMSA_SIZE_PAGES
    + PARAVISOR_RESERVED_VTL2_SNP_SECRETS_SIZE_PAGES;
/// Page index of the VMSA inside the reserved region.
pub const PARAVISOR_RESERVED_VTL2_SNP_VMSA_PAGE_INDEX: u64 = 0;
/// Page index of the CPUID page: VMSA index + VMSA size = 1.
pub const PARAVISOR_RESERVED_VTL2_SNP_CPUID_PAGE_INDEX: u64 =
    PARAVISOR_RESERVED_VTL2_SNP_VMSA_PAGE_INDEX + PARAVISOR_RESERVED_VTL2_SNP_VMSA_SIZE_PAGES;
/// Page index of the secrets page: CPUID index + CPUID size = 3.
pub const PARAVISOR_RESERVED_VTL2_SNP_SECRETS_PAGE_INDEX: u64 =
    PARAVISOR_RESERVED_VTL2_SNP_CPUID_PAGE_INDEX + PARAVISOR_RESERVED_VTL2_SNP_CPUID_SIZE_PAGES;

// --- Measured VTL2 config region (end of the parameter region) -------------

/// Pages for the imported/accepted-regions list.
pub const PARAVISOR_MEASURED_VTL2_CONFIG_ACCEPTED_MEMORY_SIZE_PAGES: u64 = 1;
/// Pages for [`ParavisorMeasuredVtl2Config`](crate::ParavisorMeasuredVtl2Config).
pub const PARAVISOR_MEASURED_VTL2_CONFIG_SIZE_PAGES: u64 = 1;
/// Total pages of the measured VTL2 config region: 1 + 1 = 2.
pub const PARAVISOR_MEASURED_VTL2_CONFIG_REGION_PAGE_COUNT: u64 =
    PARAVISOR_MEASURED_VTL2_CONFIG_ACCEPTED_MEMORY_SIZE_PAGES
        + PARAVISOR_MEASURED_VTL2_CONFIG_SIZE_PAGES;
/// Page index of the imported-regions page: 0 + 104 = 104.
pub const PARAVISOR_MEASURED_VTL2_CONFIG_ACCEPTED_MEMORY_PAGE_INDEX: u64 =
    PARAVISOR_UNMEASURED_VTL2_CONFIG_REGION_BASE_INDEX
        + PARAVISOR_UNMEASURED_VTL2_CONFIG_REGION_PAGE_COUNT_MAX;
/// Page index of the measured VTL2 config: 104 + 1 = 105.
pub const PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_INDEX: u64 =
    PARAVISOR_MEASURED_VTL2_CONFIG_ACCEPTED_MEMORY_PAGE_INDEX
        + PARAVISOR_MEASURED_VTL2_CONFIG_ACCEPTED_MEMORY_SIZE_PAGES;
/// Pages of the whole parameter region: 104 + 2 = 106.
pub const PARAVISOR_VTL2_CONFIG_REGION_PAGE_COUNT_MAX: u64 =
    PARAVISOR_UNMEASURED_VTL2_CONFIG_REGION_PAGE_COUNT_MAX
        + PARAVISOR_MEASURED_VTL2_CONFIG_REGION_PAGE_COUNT;

// --- Addresses -------------------------------------------------------------

/// VTL2 memory base used when no base page is given; also the relocation
/// minimum (128 MiB).
pub const PARAVISOR_DEFAULT_MEMORY_BASE_ADDRESS: u64 = 128 * 1024 * 1024;
/// Default VTL2 memory size in pages (64 MiB; not used by the loaders).
pub const PARAVISOR_DEFAULT_MEMORY_PAGE_COUNT: u64 = 64 * 1024 * 1024 / HV_PAGE_SIZE;
/// Virtual address of the x86-64 SNP/TDX local map.
pub const PARAVISOR_LOCAL_MAP_VA: u64 = 0x20_0000;
/// Size of the x86-64 SNP/TDX local map.
pub const PARAVISOR_LOCAL_MAP_SIZE: u64 = 0x20_0000;
/// Page number of the measured VTL0 config on x86-64: page 0, which always
/// exists (it holds the real-mode interrupt table at reset).
pub const PARAVISOR_VTL0_MEASURED_CONFIG_BASE_PAGE_X64: u64 = 0;
/// Page number of the measured VTL0 config on AArch64: 16 MiB, assumed to
/// exist and be free (UEFI uses GPAs below 0x80_0000 plus its tables at
/// about 0x82_4000; Generation-2 VMs have at least 32 MiB).
pub const PARAVISOR_VTL0_MEASURED_CONFIG_BASE_PAGE_AARCH64: u64 = 16 << (20 - 12);

/// Capacity of the static command line in bytes (one page minus the 4-byte
/// header of [`ParavisorCommandLine`](crate::ParavisorCommandLine)).
pub const COMMAND_LINE_SIZE: usize = 0xFFC;

// --- Regions the loader reserves (docs/abi.md §1.1) -----------------------------

/// Size of the persisted-state region at the very start of VTL2 memory
/// (2 MiB).
pub const PERSISTED_REGION_SIZE: u64 = 0x20_0000;
/// Size of the x86-64 SNP/TDX bounce buffer (one 2 MiB large page).
pub const BOUNCE_BUFFER_SIZE: u64 = 0x20_0000;
/// Pages of the boot-shim log buffer.
pub const SHIM_LOG_BUFFER_PAGE_COUNT: u64 = 2;
/// Size of the boot-shim log buffer in bytes (0x2000).
pub const SHIM_LOG_BUFFER_SIZE: u64 = SHIM_LOG_BUFFER_PAGE_COUNT * HV_PAGE_SIZE;
/// Pages of the boot-shim heap.
pub const SHIM_HEAP_PAGE_COUNT: u64 = 16;
/// Size of the boot-shim heap in bytes (0x1_0000).
pub const SHIM_HEAP_SIZE: u64 = SHIM_HEAP_PAGE_COUNT * HV_PAGE_SIZE;
/// Size of the parameter region in bytes: 106 pages = 0x6A000.
pub const PARAVISOR_VTL2_CONFIG_REGION_SIZE: u64 =
    PARAVISOR_VTL2_CONFIG_REGION_PAGE_COUNT_MAX * HV_PAGE_SIZE;
/// Size of the x86-64 VTL2 reserved region in bytes: 4 pages = 0x4000.
pub const PARAVISOR_RESERVED_VTL2_REGION_SIZE: u64 =
    PARAVISOR_RESERVED_VTL2_PAGE_COUNT_MAX * HV_PAGE_SIZE;

/// The VTL the paravisor runs in (`HCL_SECURE_VTL` = VTL2).
pub const HCL_SECURE_VTL: u8 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value of docs/abi.md §1.2, as the spec writes it.
    #[test]
    fn paravisor_constants_match_abi_1_2() {
        assert_eq!(PARAVISOR_CONFIG_SLIT_SIZE_PAGES, 0x14);
        assert_eq!(PARAVISOR_CONFIG_PPTT_SIZE_PAGES, 0x14);
        assert_eq!(PARAVISOR_CONFIG_DEVICE_TREE_SIZE_PAGES, 0x40);
        assert_eq!(PARAVISOR_UNMEASURED_VTL2_CONFIG_REGION_PAGE_COUNT_MAX, 0x68);
        assert_eq!(PARAVISOR_CONFIG_SLIT_PAGE_INDEX, 0x0);
        assert_eq!(PARAVISOR_CONFIG_PPTT_PAGE_INDEX, 0x14);
        assert_eq!(PARAVISOR_CONFIG_DEVICE_TREE_PAGE_INDEX, 0x28);
        assert_eq!(PARAVISOR_UNMEASURED_VTL2_CONFIG_REGION_BASE_INDEX, 0x0);
        assert_eq!(PARAVISOR_RESERVED_VTL2_SNP_CPUID_SIZE_PAGES, 0x2);
        assert_eq!(PARAVISOR_RESERVED_VTL2_SNP_VMSA_SIZE_PAGES, 0x1);
        assert_eq!(PARAVISOR_RESERVED_VTL2_SNP_SECRETS_SIZE_PAGES, 0x1);
        assert_eq!(PARAVISOR_RESERVED_VTL2_PAGE_COUNT_MAX, 0x4);
        assert_eq!(PARAVISOR_RESERVED_VTL2_SNP_VMSA_PAGE_INDEX, 0x0);
        assert_eq!(PARAVISOR_RESERVED_VTL2_SNP_CPUID_PAGE_INDEX, 0x1);
        assert_eq!(PARAVISOR_RESERVED_VTL2_SNP_SECRETS_PAGE_INDEX, 0x3);
        assert_eq!(
            PARAVISOR_MEASURED_VTL2_CONFIG_ACCEPTED_MEMORY_SIZE_PAGES,
            0x1
        );
        assert_eq!(PARAVISOR_MEASURED_VTL2_CONFIG_SIZE_PAGES, 0x1);
        assert_eq!(PARAVISOR_MEASURED_VTL2_CONFIG_REGION_PAGE_COUNT, 0x2);
        assert_eq!(
            PARAVISOR_MEASURED_VTL2_CONFIG_ACCEPTED_MEMORY_PAGE_INDEX,
            0x68
        );
        assert_eq!(PARAVISOR_MEASURED_VTL2_CONFIG_PAGE_INDEX, 0x69);
        assert_eq!(PARAVISOR_VTL2_CONFIG_REGION_PAGE_COUNT_MAX, 0x6A);
        assert_eq!(PARAVISOR_DEFAULT_MEMORY_BASE_ADDRESS, 0x0800_0000);
        assert_eq!(PARAVISOR_DEFAULT_MEMORY_PAGE_COUNT, 0x4000);
        assert_eq!(PARAVISOR_LOCAL_MAP_VA, 0x20_0000);
        assert_eq!(PARAVISOR_LOCAL_MAP_SIZE, 0x20_0000);
        assert_eq!(COMMAND_LINE_SIZE, 0xFFC);
        assert_eq!(PARAVISOR_VTL0_MEASURED_CONFIG_BASE_PAGE_X64, 0x0);
        assert_eq!(PARAVISOR_VTL0_MEASURED_CONFIG_BASE_PAGE_AARCH64, 0x1000);
    }

    /// Sizes of docs/abi.md §1.1 and §2 (the values written into `ShimParamsRaw`).
    #[test]
    fn region_sizes_match_abi_1_1() {
        assert_eq!(HV_PAGE_SIZE, 4096);
        assert_eq!(PERSISTED_REGION_SIZE, 0x20_0000);
        assert_eq!(BOUNCE_BUFFER_SIZE, 0x20_0000);
        assert_eq!(SHIM_LOG_BUFFER_PAGE_COUNT, 2);
        assert_eq!(SHIM_LOG_BUFFER_SIZE, 0x2000);
        assert_eq!(SHIM_HEAP_PAGE_COUNT, 16);
        assert_eq!(SHIM_HEAP_SIZE, 0x1_0000);
        assert_eq!(PARAVISOR_VTL2_CONFIG_REGION_SIZE, 0x6A000);
        assert_eq!(PARAVISOR_RESERVED_VTL2_REGION_SIZE, 0x4000);
        assert_eq!(HCL_SECURE_VTL, 2);
    }
}
