//! The names of a program and its procedures as the `.x` file spells
//! them, which generated code hands the runtime so call spans and events
//! can say `NFSPROC3_READ` instead of procedure 6.

/// A program version's names: generated code has one per version
/// (`NAMES`), passed to [`Client::call_named`](super::Client::call_named)
/// and returned by [`Dispatch::names`](super::Dispatch::names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramNames {
    /// The program's name (`NFS_PROGRAM`).
    pub program: &'static str,
    /// Each procedure's number and name, in any order.
    pub procedures: &'static [(u32, &'static str)],
}

impl ProgramNames {
    /// No names: spans and events give numbers only.
    pub const UNKNOWN: ProgramNames = ProgramNames {
        program: "",
        procedures: &[],
    };

    /// The name of procedure `number`, if the program has it.
    pub fn procedure(&self, number: u32) -> Option<&'static str> {
        self.procedures
            .iter()
            .find(|(n, _)| *n == number)
            .map(|&(_, name)| name)
    }
}
