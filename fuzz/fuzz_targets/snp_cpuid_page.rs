//! SNP CPUID page reader (`CpuidPageReader`) over hostile bytes: raw bytes,
//! or the paravisor's default page (`create_snp_cpuid_page`) with bytes
//! overwritten by the input.
//!
//! Invariants: no panic; a page the reader accepts has count ≤ 64, zero
//! reserved fields; `leaf(eax, ecx)` returns a leaf with exactly that input
//! and the first such leaf; `leaves()` has `count` entries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paravisor_fuzz::Bytes;
use snp_cpuid::CpuidPageReader;
use snp_cpuid::HV_PSP_CPUID_LEAF_COUNT_MAX;
use snp_cpuid::create_snp_cpuid_page;
use zerocopy::IntoBytes;

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes::new(data);
    let mode = input.u8();
    let page: Vec<u8> = if mode & 1 == 0 {
        input.rest().to_vec()
    } else {
        let mut page = create_snp_cpuid_page().as_bytes().to_vec();
        for _ in 0..(mode >> 1) % 16 {
            let offset = usize::from(input.u16()) % page.len();
            page[offset] = input.u8();
        }
        page
    };
    let Ok(reader) = CpuidPageReader::new(&page) else {
        return;
    };
    let count = reader.page().count as usize;
    assert!(count <= HV_PSP_CPUID_LEAF_COUNT_MAX);
    assert_eq!(reader.leaves().len(), count);
    assert_eq!(reader.page().reserved_z1, 0);
    assert_eq!(reader.page().reserved_z2, 0);
    for (index, leaf) in reader.leaves().iter().enumerate() {
        assert_eq!(leaf.reserved_z, 0);
        let found = reader
            .leaf(leaf.eax_in, leaf.ecx_in)
            .unwrap_or_else(|| panic!("leaf {index} not found by its own input"));
        let first = reader
            .leaves()
            .iter()
            .position(|l| l.eax_in == leaf.eax_in && l.ecx_in == leaf.ecx_in);
        assert_eq!(Some(found), first.map(|i| &reader.leaves()[i]));
    }
    let (eax, ecx) = (input.u32(), input.u32());
    if let Some(leaf) = reader.leaf(eax, ecx) {
        assert_eq!((leaf.eax_in, leaf.ecx_in), (eax, ecx));
    }
});
