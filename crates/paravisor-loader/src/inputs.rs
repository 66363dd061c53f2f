//! What a caller hands to the loaders: images as byte slices, the command
//! line, the VTL2 memory range and the VTL0 configuration.

/// The paravisor kernel command line and who may change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandLine<'a> {
    /// A fixed command line (policy `STATIC`).
    Static(&'a str),
    /// A command line the host may append to through the device tree's
    /// `/chosen` node (policy `APPEND_CHOSEN`); may be empty.
    HostAppendable(&'a str),
}

impl<'a> CommandLine<'a> {
    /// The command-line text.
    pub const fn text(&self) -> &'a str {
        match self {
            Self::Static(t) | Self::HostAppendable(t) => t,
        }
    }
}

/// VTL0 UEFI firmware: where it lives and its initial VP context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vtl0Uefi<'a> {
    /// GPA of the firmware image.
    pub firmware_base: u64,
    /// Bytes the firmware occupies in total (image and its data).
    pub total_size: u64,
    /// The VP-context blob, copied verbatim into one page (at most 4096
    /// bytes).
    pub vp_context: &'a [u8],
}

/// A VTL0 region described (not loaded) by the measured configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vtl0Region {
    /// GPA of the region.
    pub gpa: u64,
    /// Size in bytes.
    pub size: u64,
}

/// VTL0 Linux direct boot: where the host placed the kernel and initrd, and
/// the VTL0 kernel command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vtl0Linux<'a> {
    /// The VTL0 command line, without a terminating NUL (the loader adds
    /// one). At most 4095 bytes, no interior NUL.
    pub command_line: &'a [u8],
    /// The VTL0 kernel.
    pub kernel: Vtl0Region,
    /// The VTL0 kernel entry point (GPA).
    pub kernel_entrypoint: u64,
    /// The VTL0 initrd, if any (GPA must be page aligned).
    pub initrd: Option<Vtl0Region>,
}

/// Which VTL0 images the paravisor may boot (`Vtl0Config` in the original).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vtl0Config<'a> {
    /// PCAT BIOS (x86-64 only).
    pub pcat: bool,
    /// UEFI firmware.
    pub uefi: Option<Vtl0Uefi<'a>>,
    /// Linux direct boot (recorded on x86-64 only; ignored on AArch64, as in
    /// the original).
    pub linux: Option<Vtl0Linux<'a>>,
}

/// The inputs of one paravisor load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadInputs<'a> {
    /// The ABI profile: which upstream loader's image to build
    /// (docs/abi-versions.md; default the seed).
    pub abi: paravisor_layout::Abi,
    /// The paravisor kernel: an ELF64 on x86-64, a flat arm64 `Image` on
    /// AArch64.
    pub kernel: &'a [u8],
    /// The boot shim (ELF64).
    pub shim: &'a [u8],
    /// The sidecar kernel (ELF64; x86-64 only).
    pub sidecar: Option<&'a [u8]>,
    /// The paravisor initrd.
    pub initrd: Option<&'a [u8]>,
    /// The paravisor kernel command line.
    pub command_line: CommandLine<'a>,
    /// First page of VTL2 memory; `None` = the default base (128 MiB) with
    /// relocation support.
    pub memory_page_base: Option<u64>,
    /// Number of 4 KiB pages of VTL2 memory (a multiple of 512).
    pub memory_page_count: u64,
    /// The VTL0 configuration.
    pub vtl0: Vtl0Config<'a>,
}
