//! Registers as the image summary shows them: a name (`rip`, `ttbr0_el1`)
//! and a [`RegisterValue`], for both architectures' register types
//! ([`SummaryRegister`]). The recording importer names registers the same
//! way.

use serde_json::Value;
use serde_json::json;
use vp_regs::aarch64::Aarch64Register;
use vp_regs::x86_64::X86Register;

/// A register value as the summary shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterValue {
    /// A plain 64-bit register.
    Plain(u64),
    /// A descriptor-table register (GDTR, IDTR).
    Table {
        /// Base address.
        base: u64,
        /// Limit.
        limit: u16,
    },
    /// A segment register.
    Segment {
        /// Selector.
        selector: u16,
        /// Base address.
        base: u64,
        /// Limit.
        limit: u32,
        /// Attributes.
        attributes: u16,
    },
}

impl RegisterValue {
    /// The JSON form: hex strings; table and segment registers as objects.
    pub fn to_json(&self) -> Value {
        match *self {
            Self::Plain(v) => json!(hex(v)),
            Self::Table { base, limit } => json!({ "base": hex(base), "limit": hex(limit.into()) }),
            Self::Segment {
                selector,
                base,
                limit,
                attributes,
            } => json!({
                "selector": hex(selector.into()),
                "base": hex(base),
                "limit": hex(limit.into()),
                "attributes": hex(attributes.into()),
            }),
        }
    }
}

/// A register type the summary importer can record.
pub trait SummaryRegister {
    /// The summary key (lower case, e.g. `rip`, `ttbr0_el1`).
    fn summary_name(&self) -> &'static str;
    /// The value.
    fn summary_value(&self) -> RegisterValue;
}

impl SummaryRegister for X86Register {
    fn summary_name(&self) -> &'static str {
        self.name()
    }

    fn summary_value(&self) -> RegisterValue {
        use X86Register as R;
        match *self {
            R::Gdtr(t) | R::Idtr(t) => RegisterValue::Table {
                base: t.base,
                limit: t.limit,
            },
            R::Cs(s) | R::Ds(s) | R::Es(s) | R::Fs(s) | R::Gs(s) | R::Ss(s) | R::Tr(s) => {
                RegisterValue::Segment {
                    selector: s.selector,
                    base: s.base,
                    limit: s.limit,
                    attributes: s.attributes,
                }
            }
            R::Cr0(v)
            | R::Cr3(v)
            | R::Cr4(v)
            | R::Efer(v)
            | R::Pat(v)
            | R::Rbp(v)
            | R::Rip(v)
            | R::Rsi(v)
            | R::Rsp(v)
            | R::R8(v)
            | R::R9(v)
            | R::R10(v)
            | R::R11(v)
            | R::R12(v)
            | R::Rflags(v)
            | R::MtrrDefType(v)
            | R::MtrrPhysBase0(v)
            | R::MtrrPhysMask0(v)
            | R::MtrrPhysBase1(v)
            | R::MtrrPhysMask1(v)
            | R::MtrrPhysBase2(v)
            | R::MtrrPhysMask2(v)
            | R::MtrrPhysBase3(v)
            | R::MtrrPhysMask3(v)
            | R::MtrrPhysBase4(v)
            | R::MtrrPhysMask4(v)
            | R::MtrrFix64k00000(v)
            | R::MtrrFix16k80000(v)
            | R::MtrrFix4kE0000(v)
            | R::MtrrFix4kE8000(v)
            | R::MtrrFix4kF0000(v)
            | R::MtrrFix4kF8000(v) => RegisterValue::Plain(v),
        }
    }
}

impl SummaryRegister for Aarch64Register {
    fn summary_name(&self) -> &'static str {
        self.name()
    }

    fn summary_value(&self) -> RegisterValue {
        RegisterValue::Plain(self.value())
    }
}

/// Lower-case hex with a `0x` prefix, no padding (`0x0`, `0x8495000`).
pub fn hex(v: u64) -> String {
    format!("{v:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn register_values_are_lower_case_hex_strings() {
        let seg = RegisterValue::Segment {
            selector: 0x10,
            base: 0,
            limit: 0xFFFF_FFFF,
            attributes: 0xA09B,
        };
        assert_eq!(
            seg.to_json(),
            json!({"selector": "0x10", "base": "0x0", "limit": "0xffffffff", "attributes": "0xa09b"})
        );
        assert_eq!(
            RegisterValue::Plain(0x8495000).to_json(),
            json!("0x8495000")
        );
    }
}
