//! The settings of one guest of the build config: architecture, isolation
//! with its platform settings, VTL and SVN (`docs/igvm.md` §3).

/// Guest architecture (`guest_arch` of the build config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuestArch {
    /// x86-64 (IGVM revision 1).
    X64,
    /// AArch64 (IGVM revision 2).
    Aarch64,
}

impl GuestArch {
    /// The config name (`x64`, `aarch64`).
    pub fn name(self) -> &'static str {
        match self {
            Self::X64 => "x64",
            Self::Aarch64 => "aarch64",
        }
    }
}

/// SNP interrupt injection type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InjectionType {
    /// Normal injection.
    #[default]
    Normal,
    /// Restricted injection.
    Restricted,
}

/// Isolation of one guest, with its platform settings (`isolation_type` of
/// the build config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuestIsolation {
    /// No isolation (written as a VSM_ISOLATION platform, not measured).
    None,
    /// Hyper-V VBS.
    Vbs {
        /// Debug build.
        enable_debug: bool,
    },
    /// AMD SEV-SNP.
    Snp {
        /// The shared GPA boundary bit (required).
        shared_gpa_boundary_bits: Option<u8>,
        /// The SNP guest policy (bit 19 replaced by `enable_debug`).
        policy: u64,
        /// Debug build.
        enable_debug: bool,
        /// Interrupt injection type.
        injection_type: InjectionType,
    },
    /// Intel TDX.
    Tdx {
        /// Debug build.
        enable_debug: bool,
        /// SEPT #VE disable.
        sept_ve_disable: bool,
    },
}

impl GuestIsolation {
    /// Lower-case name (`none`, `vbs`, `snp`, `tdx`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Vbs { .. } => "vbs",
            Self::Snp { .. } => "snp",
            Self::Tdx { .. } => "tdx",
        }
    }

    /// The shared GPA boundary bits igvmfilegen reports to the loader
    /// (`docs/igvm.md` §3.3): SNP its config value, TDX 47, others none.
    pub fn shared_gpa_boundary_bits(&self) -> Option<u8> {
        match self {
            Self::Snp {
                shared_gpa_boundary_bits,
                ..
            } => *shared_gpa_boundary_bits,
            Self::Tdx { .. } => Some(47),
            Self::None | Self::Vbs { .. } => None,
        }
    }
}

/// One guest of the build config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GuestSettings {
    /// File architecture.
    pub arch: GuestArch,
    /// Isolation and platform settings.
    pub isolation: GuestIsolation,
    /// 2 with a paravisor, 0 without.
    pub max_vtl: u8,
    /// SVN for the measurement document.
    pub guest_svn: u32,
}
