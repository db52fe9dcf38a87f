//! libvirt's public constants as Rust types, generated from the API
//! description libvirt ships with its headers
//! (`/usr/share/libvirt/api/libvirt-api.xml`, Debian's `libvirt-dev`; see
//! [`LIBVIRT_VERSION`] for the release).
//!
//! - An enum of libvirt's (`virDomainState`) is a Rust enum without the
//!   `vir` ([`DomainState`]), its members without their common prefix
//!   ([`DomainState::Running`] is `VIR_DOMAIN_RUNNING`). They are
//!   `#[non_exhaustive]`: a newer daemon may send a value this crate does
//!   not know, so `TryFrom<i32>` returns [`UnknownValue`] with the raw
//!   value rather than guessing, and never panics. The `_LAST` sentinels
//!   are left out, since they change with every release.
//! - A set of flags (`virConnectListAllDomainsFlags`, any enum whose
//!   members are bits) is a newtype over `u32` with a constant per flag
//!   ([`ConnectListAllDomainsFlags::ACTIVE`]), `|`, `&` and
//!   [`contains`](ConnectListAllDomainsFlags::contains). Bits this crate
//!   has no name for are kept, not dropped.
//! - The names of typed parameters (`VIR_DOMAIN_SCHEDULER_CPU_SHARES`,
//!   `"cpu_shares"`) are `&str` constants in [`fields`], under their C
//!   names.
//!
//! [`qemu`] and [`admin`] hold the constants of `libvirt-qemu.h` and
//! `libvirt-admin.h` (`libvirt-lxc.h` has none). The documentation of each
//! item is libvirt's own, from the same file.

use core::fmt;

/// A value that is not a member of a libvirt enum this crate knows:
/// usually one a newer libvirt added. It keeps the raw value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnknownValue {
    /// libvirt's C name of the enum (`virDomainState`).
    pub enum_name: &'static str,
    /// The value as received.
    pub value: i32,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not a {} value this version of xdrgen-libvirt knows",
            self.value, self.enum_name
        )
    }
}

impl std::error::Error for UnknownValue {}

/// A libvirt enum: its members as variants, aliases (members sharing a
/// value) as associated constants.
macro_rules! libvirt_enum {
    (
        $(#[$meta:meta])*
        $c_type:literal $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $value:literal ($c_name:literal),)*
        }
        $($(#[$alias_meta:meta])* const $alias:ident = $target:ident;)*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        #[repr(i32)]
        pub enum $name {
            $($(#[$variant_meta])* $variant = $value,)*
        }

        impl $name {
            /// Every member this version of the crate knows, in value order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];
            $($(#[$alias_meta])* pub const $alias: Self = Self::$target;)*

            /// libvirt's C name of the member (`VIR_DOMAIN_RUNNING`).
            pub const fn c_name(self) -> &'static str {
                match self {
                    $(Self::$variant => $c_name,)*
                }
            }

            /// The value as libvirt's C API and wire protocol carry it.
            pub const fn to_raw(self) -> i32 {
                self as i32
            }
        }

        impl TryFrom<i32> for $name {
            type Error = $crate::constants::UnknownValue;

            fn try_from(value: i32) -> Result<Self, $crate::constants::UnknownValue> {
                match value {
                    $($value => Ok(Self::$variant),)*
                    _ => Err($crate::constants::UnknownValue { enum_name: $c_type, value }),
                }
            }
        }

        impl From<$name> for i32 {
            fn from(value: $name) -> i32 {
                value.to_raw()
            }
        }

        impl ::core::fmt::Display for $name {
            /// libvirt's C name of the member.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.c_name())
            }
        }
    };
}

/// A set of libvirt flags: a `u32` newtype with a constant per flag. Bits
/// without a name are kept, so flags from a newer libvirt pass through.
macro_rules! libvirt_flags {
    (
        $(#[$meta:meta])*
        $c_type:literal $name:ident {
            $($(#[$flag_meta:meta])* $flag:ident = $value:literal ($c_name:literal),)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            $($(#[$flag_meta])* pub const $flag: Self = Self($value);)*

            /// Each named flag: its Rust name, libvirt's C name, its bits.
            pub const NAMED: &'static [(&'static str, &'static str, u32)] =
                &[$((stringify!($flag), $c_name, $value),)*];

            /// No flag set.
            pub const fn empty() -> Self {
                Self(0)
            }

            /// The flags of `bits`, named or not (a newer libvirt may set
            /// bits this crate has no name for).
            pub const fn from_bits(bits: u32) -> Self {
                Self(bits)
            }

            /// The bits as libvirt's C API and wire protocol carry them.
            pub const fn bits(self) -> u32 {
                self.0
            }

            /// Whether every bit of `other` is set in `self`.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether no bit is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// The bits set in `self` that have no name in this version of
            /// the crate.
            pub fn unnamed_bits(self) -> u32 {
                Self::NAMED
                    .iter()
                    .fold(self.0, |left, &(_, _, bits)| left & !bits)
            }
        }

        impl ::core::ops::BitOr for $name {
            type Output = Self;

            fn bitor(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }
        }

        impl ::core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, other: Self) {
                self.0 |= other.0;
            }
        }

        impl ::core::ops::BitAnd for $name {
            type Output = Self;

            fn bitand(self, other: Self) -> Self {
                Self(self.0 & other.0)
            }
        }

        impl ::core::ops::BitAndAssign for $name {
            fn bitand_assign(&mut self, other: Self) {
                self.0 &= other.0;
            }
        }

        impl From<u32> for $name {
            fn from(bits: u32) -> Self {
                Self(bits)
            }
        }

        impl From<$name> for u32 {
            fn from(flags: $name) -> u32 {
                flags.0
            }
        }

        impl ::core::fmt::Debug for $name {
            /// The named flags set, then any other bits in hex:
            /// `ConnectListAllDomainsFlags(ACTIVE | PERSISTENT | 0x100000)`.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                $crate::constants::write_flags(f, stringify!($name), self.0, Self::NAMED)
            }
        }
    };
}

/// The `Debug` form of a set of flags (one function, not one copy per
/// flags type).
#[doc(hidden)]
pub fn write_flags(
    f: &mut fmt::Formatter<'_>,
    type_name: &str,
    bits: u32,
    named: &[(&str, &str, u32)],
) -> fmt::Result {
    write!(f, "{type_name}(")?;
    if bits == 0 {
        // A flag worth 0 names the default (`VIR_DOMAIN_AFFECT_CURRENT`).
        let zero = named.iter().find(|&&(_, _, value)| value == 0);
        f.write_str(zero.map_or("empty", |&(name, _, _)| name))?;
        return f.write_str(")");
    }
    let mut left = bits;
    let mut first = true;
    for &(name, _, value) in named {
        if value != 0 && bits & value == value && left & value != 0 {
            if !first {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
            left &= !value;
            first = false;
        }
    }
    if left != 0 {
        if !first {
            f.write_str(" | ")?;
        }
        write!(f, "{left:#x}")?;
    }
    f.write_str(")")
}

include!("generated/constants.rs");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_convert_both_ways_and_keep_unknown_values() {
        assert_eq!(DomainState::try_from(1), Ok(DomainState::Running));
        assert_eq!(i32::from(DomainState::Pmsuspended), 7);
        assert_eq!(DomainState::Running.c_name(), "VIR_DOMAIN_RUNNING");
        assert_eq!(DomainState::Shutoff.to_string(), "VIR_DOMAIN_SHUTOFF");
        let unknown = DomainState::try_from(42).unwrap_err();
        assert_eq!(
            unknown,
            UnknownValue {
                enum_name: "virDomainState",
                value: 42
            }
        );
        assert_eq!(
            unknown.to_string(),
            "42 is not a virDomainState value this version of xdrgen-libvirt knows"
        );
        // Negative members, and every member back from its value.
        assert_eq!(CPUCompareResult::try_from(-1), Ok(CPUCompareResult::Error));
        for &state in DomainState::ALL {
            assert_eq!(DomainState::try_from(state.to_raw()), Ok(state));
        }
    }

    #[test]
    fn last_sentinels_are_not_members() {
        // VIR_DOMAIN_LAST is 8 in libvirt 9.0; a newer daemon may send 8.
        assert!(DomainState::try_from(8).is_err());
        assert!(
            DomainState::ALL
                .iter()
                .all(|s| !s.c_name().ends_with("_LAST"))
        );
    }

    #[test]
    fn event_ids_and_details_are_libvirts() {
        assert_eq!(DomainEventID::Lifecycle.to_raw(), 0);
        assert_eq!(DomainEventType::Stopped.to_raw(), 5);
        assert_eq!(
            DomainEventStoppedDetailType::try_from(1),
            Ok(DomainEventStoppedDetailType::Destroyed)
        );
        assert_eq!(ErrorDomain::Qemu.c_name(), "VIR_FROM_QEMU");
        assert_eq!(ErrorNumber::ErrNoDomain.to_raw(), 42);
    }

    #[test]
    fn flags_combine_test_and_keep_unnamed_bits() {
        let flags = ConnectListAllDomainsFlags::ACTIVE | ConnectListAllDomainsFlags::PERSISTENT;
        assert_eq!(flags.bits(), 1 | 4);
        assert!(flags.contains(ConnectListAllDomainsFlags::ACTIVE));
        assert!(!flags.contains(ConnectListAllDomainsFlags::INACTIVE));
        assert!(flags.contains(ConnectListAllDomainsFlags::empty()));
        assert_eq!(
            format!("{flags:?}"),
            "ConnectListAllDomainsFlags(ACTIVE | PERSISTENT)"
        );

        let newer = ConnectListAllDomainsFlags::from_bits(1 | 0x0100_0000);
        assert_eq!(newer.unnamed_bits(), 0x0100_0000);
        assert_eq!(u32::from(newer), 0x0100_0001);
        assert_eq!(
            format!("{newer:?}"),
            "ConnectListAllDomainsFlags(ACTIVE | 0x1000000)"
        );

        let mut impact = DomainModificationImpact::LIVE;
        impact |= DomainModificationImpact::CONFIG;
        assert_eq!(impact.bits(), 3);
        assert_eq!(
            (impact & DomainModificationImpact::CONFIG).bits(),
            DomainModificationImpact::CONFIG.bits()
        );
        // A flag worth 0 names the empty set.
        assert_eq!(
            format!("{:?}", DomainModificationImpact::default()),
            "DomainModificationImpact(CURRENT)"
        );
        assert!(DomainModificationImpact::CURRENT.is_empty());
    }

    #[test]
    fn flags_defined_as_other_flags_have_their_values() {
        assert_eq!(
            ConnectGetAllDomainStatsFlags::ACTIVE.bits(),
            ConnectListAllDomainsFlags::ACTIVE.bits()
        );
        assert_eq!(
            ConnectGetAllDomainStatsFlags::ENFORCE_STATS.bits(),
            0x8000_0000
        );
    }

    #[test]
    fn the_other_headers_have_modules() {
        assert_eq!(qemu::DomainQemuMonitorCommandFlags::HMP.bits(), 1);
        // BLOCK and MIN share -2: the second is an alias.
        assert_eq!(
            qemu::DomainQemuAgentCommandTimeoutValues::MIN,
            qemu::DomainQemuAgentCommandTimeoutValues::Block
        );
        assert_eq!(
            admin::ClientTransport::try_from(2),
            Ok(admin::ClientTransport::Tls)
        );
        assert_eq!(admin::fields::VIR_SERVER_CLIENTS_MAX, "nclients_max");
        assert_eq!(fields::VIR_DOMAIN_SCHEDULER_CPU_SHARES, "cpu_shares");
        assert_eq!(LIBVIRT_VERSION / 1_000_000, 9);
    }
}
