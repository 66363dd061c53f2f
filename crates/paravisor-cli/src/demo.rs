//! `paravisor demo`: loads small kernel and shim ELFs that the tool builds
//! itself (x86-64, no isolation, 64 MiB of VTL2 memory at the default base,
//! the worked example of docs/worked-example.md) and prints their layout.

use crate::exit::EXIT_LOAD_FAILED;
use crate::exit::EXIT_OK;
use crate::exit::Outcome;
use elf_static_loader::elf::ELF64_HEADER_SIZE;
use elf_static_loader::elf::ELF64_PROGRAM_HEADER_SIZE;
use elf_static_loader::elf::ELF64_SECTION_HEADER_SIZE;
use elf_static_loader::elf::ElfMachine;
use paravisor_host::Arch;
use paravisor_loader::CommandLine;
use paravisor_loader::IsolationConfig;
use paravisor_loader::IsolationType;
use paravisor_loader::LoadInputs;
use paravisor_loader::Vtl0Config;
use std::process::ExitCode;

/// A minimal ELF64 (little endian, `ET_EXEC`) with one `PT_LOAD` segment of
/// `memsz` bytes at physical address `paddr` holding `code`, entry `entry`.
pub(crate) fn elf64(machine: u16, entry: u64, paddr: u64, memsz: u64, code: &[u8]) -> Vec<u8> {
    const EHDR: u64 = ELF64_HEADER_SIZE as u64;
    const PHDR: u64 = ELF64_PROGRAM_HEADER_SIZE as u64;
    let data_offset = EHDR + PHDR;
    let mut f = Vec::new();
    f.extend_from_slice(&[0x7F, b'E', b'L', b'F', 2, 1, 1, 0]);
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&2u16.to_le_bytes()); // e_type = ET_EXEC
    f.extend_from_slice(&machine.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes()); // e_version
    f.extend_from_slice(&entry.to_le_bytes());
    f.extend_from_slice(&EHDR.to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    f.extend_from_slice(&(EHDR as u16).to_le_bytes()); // e_ehsize
    f.extend_from_slice(&(PHDR as u16).to_le_bytes()); // e_phentsize
    f.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    f.extend_from_slice(&(ELF64_SECTION_HEADER_SIZE as u16).to_le_bytes()); // e_shentsize
    f.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
    f.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
    f.extend_from_slice(&1u32.to_le_bytes()); // p_type = PT_LOAD
    f.extend_from_slice(&7u32.to_le_bytes()); // p_flags = RWX
    f.extend_from_slice(&data_offset.to_le_bytes()); // p_offset
    f.extend_from_slice(&paddr.to_le_bytes()); // p_vaddr
    f.extend_from_slice(&paddr.to_le_bytes()); // p_paddr
    f.extend_from_slice(&(code.len() as u64).to_le_bytes()); // p_filesz
    f.extend_from_slice(&memsz.to_le_bytes()); // p_memsz
    f.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    f.extend_from_slice(code);
    f
}

/// `hlt; jmp .-1`: a kernel and shim that do nothing, forever.
const HALT_LOOP: [u8; 3] = [0xF4, 0xEB, 0xFD];

/// Exit statuses, shown under `--help`.
pub(crate) const EXIT_STATUS: &str = "\
Exit status: 0 printed; 2 the load failed; 1 a usage error.";

/// Arguments of `paravisor demo`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Print the layout as one JSON object (as `layout --json`) instead of
    /// the map.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> Outcome {
    // The worked example: kernel one PT_LOAD at 16 MiB (2 MiB), shim at 0
    // (64 KiB, entry 0x1000 would be past its file bytes, so entry 0).
    let kernel = elf64(
        ElfMachine::X86_64.e_machine(),
        0x100_0000,
        0x100_0000,
        0x20_0000,
        &HALT_LOOP,
    );
    let shim = elf64(ElfMachine::X86_64.e_machine(), 0, 0, 0x1_0000, &HALT_LOOP);
    let inputs = LoadInputs {
        abi: paravisor_loader::Abi::default(),
        kernel: &kernel,
        shim: &shim,
        sidecar: None,
        initrd: None,
        command_line: CommandLine::Static("console=ttyS0"),
        memory_page_base: None,
        memory_page_count: 0x4000,
        vtl0: Vtl0Config::default(),
    };
    let isolation = IsolationConfig {
        isolation_type: IsolationType::None,
        paravisor_present: true,
        shared_gpa_boundary_bits: None,
    };
    if !args.json {
        println!(
            "demo: a {}-byte kernel ELF and a {}-byte shim ELF built in memory, \
             loaded for x86-64 (no isolation, 64 MiB of VTL2 memory at the default base)\n",
            kernel.len(),
            shim.len()
        );
    }
    match crate::layout::map(Arch::X86_64, isolation, &inputs) {
        Ok(layout) => {
            crate::layout::print_layout(&layout, args.json);
            ExitCode::from(EXIT_OK)
        }
        Err(e) => {
            eprintln!("paravisor: demo: load failed: {e}");
            ExitCode::from(EXIT_LOAD_FAILED)
        }
    }
}
