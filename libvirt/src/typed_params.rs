//! libvirt's typed parameters (`virTypedParameter`): named values of one
//! of seven types that many procedures take and return (scheduler and
//! memory tunables, block and job statistics, migration parameters, the
//! admin protocol's limits).
//!
//! [`TypedParams`] is a list of them with lookups by name, built with
//! [`TypedParams::builder`], and converted to and from the wire forms
//! ([`RemoteTypedParam`], [`AdminTypedParam`]). The field
//! names libvirt defines are the constants of
//! [`constants::fields`](crate::constants::fields).
//!
//! A type code this crate does not know cannot reach a [`TypedValue`]:
//! the generated decoders refuse it with a
//! [`DecodeError`](xdrgen_runtime::DecodeError) naming
//! `remote_typed_param_value` and the code, and
//! [`TypedParameterType::try_from`] with an
//! [`UnknownValue`](crate::constants::UnknownValue). The remote protocol
//! has no string-list variant: libvirt sends a string list as repeated
//! string parameters of one name ([`TypedParams::get_all`]).

use core::fmt;

use xdrgen_runtime::XdrString;

use crate::admin::{AdminTypedParam, AdminTypedParamValue};
use crate::constants::TypedParameterType;
use crate::remote::{RemoteTypedParam, RemoteTypedParamValue};

/// `VIR_TYPED_PARAM_FIELD_LENGTH` (`libvirt-common.h`): a field name's
/// buffer in libvirt's C structure, its terminating NUL included. libvirt
/// refuses a longer name when it receives one.
pub const FIELD_LENGTH: usize = 80;

/// The value of a typed parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum TypedValue {
    /// `VIR_TYPED_PARAM_INT`.
    Int(i32),
    /// `VIR_TYPED_PARAM_UINT`.
    UInt(u32),
    /// `VIR_TYPED_PARAM_LLONG`.
    LLong(i64),
    /// `VIR_TYPED_PARAM_ULLONG`.
    ULLong(u64),
    /// `VIR_TYPED_PARAM_DOUBLE`.
    Double(f64),
    /// `VIR_TYPED_PARAM_BOOLEAN` (an `int` on the wire; any non-zero value
    /// is true, as libvirt reads it).
    Boolean(bool),
    /// `VIR_TYPED_PARAM_STRING`.
    String(String),
}

impl TypedValue {
    /// The type code of the value.
    pub fn kind(&self) -> TypedParameterType {
        match self {
            TypedValue::Int(_) => TypedParameterType::Int,
            TypedValue::UInt(_) => TypedParameterType::Uint,
            TypedValue::LLong(_) => TypedParameterType::Llong,
            TypedValue::ULLong(_) => TypedParameterType::Ullong,
            TypedValue::Double(_) => TypedParameterType::Double,
            TypedValue::Boolean(_) => TypedParameterType::Boolean,
            TypedValue::String(_) => TypedParameterType::String,
        }
    }

    /// The value if it is an `Int`.
    pub fn as_int(&self) -> Option<i32> {
        match *self {
            TypedValue::Int(v) => Some(v),
            _ => None,
        }
    }

    /// The value if it is a `UInt`.
    pub fn as_uint(&self) -> Option<u32> {
        match *self {
            TypedValue::UInt(v) => Some(v),
            _ => None,
        }
    }

    /// The value if it is an `LLong`.
    pub fn as_llong(&self) -> Option<i64> {
        match *self {
            TypedValue::LLong(v) => Some(v),
            _ => None,
        }
    }

    /// The value if it is a `ULLong`.
    pub fn as_ullong(&self) -> Option<u64> {
        match *self {
            TypedValue::ULLong(v) => Some(v),
            _ => None,
        }
    }

    /// The value if it is a `Double`.
    pub fn as_double(&self) -> Option<f64> {
        match *self {
            TypedValue::Double(v) => Some(v),
            _ => None,
        }
    }

    /// The value if it is a `Boolean`.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            TypedValue::Boolean(v) => Some(v),
            _ => None,
        }
    }

    /// The value if it is a `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            TypedValue::String(v) => Some(v),
            _ => None,
        }
    }
}

/// One typed parameter: a field name and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedParam {
    /// The name (`"cpu_shares"`; see [`crate::constants::fields`]).
    pub field: String,
    /// The value.
    pub value: TypedValue,
}

/// What keeps typed parameters from converting.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypedParamError {
    /// A field name or string value from the wire is not UTF-8. `field` is
    /// the name with invalid bytes replaced.
    NotUtf8 {
        /// The field, lossily decoded.
        field: String,
    },
    /// A field name of [`FIELD_LENGTH`] bytes or more, which libvirt
    /// refuses.
    FieldTooLong {
        /// The field.
        field: String,
    },
    /// A field given twice to the builder with a type other than string
    /// (libvirt's `virTypedParamsAdd*` refuses it; only strings may repeat,
    /// as a list).
    DuplicateField {
        /// The field.
        field: String,
    },
}

impl fmt::Display for TypedParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypedParamError::NotUtf8 { field } => {
                write!(f, "typed parameter '{field}' is not UTF-8")
            }
            TypedParamError::FieldTooLong { field } => write!(
                f,
                "typed parameter name '{field}' is {} bytes, libvirt takes at most {}",
                field.len(),
                FIELD_LENGTH - 1
            ),
            TypedParamError::DuplicateField { field } => {
                write!(f, "typed parameter '{field}' is given twice")
            }
        }
    }
}

impl std::error::Error for TypedParamError {}

/// A list of typed parameters, in the order they were given or received.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TypedParams(Vec<TypedParam>);

impl TypedParams {
    /// A builder, checking names as libvirt does.
    pub fn builder() -> TypedParamsBuilder {
        TypedParamsBuilder::default()
    }

    /// The value of the first parameter named `field` (libvirt's
    /// `virTypedParamsGet`).
    pub fn get(&self, field: &str) -> Option<&TypedValue> {
        self.0.iter().find(|p| p.field == field).map(|p| &p.value)
    }

    /// The values of every parameter named `field`, in order (a string
    /// list arrives as repeated strings).
    pub fn get_all<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a TypedValue> + 'a {
        self.0
            .iter()
            .filter(move |p| p.field == field)
            .map(|p| &p.value)
    }

    /// The parameters in order.
    pub fn iter(&self) -> core::slice::Iter<'_, TypedParam> {
        self.0.iter()
    }

    /// How many parameters there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The parameters as a vector.
    pub fn into_vec(self) -> Vec<TypedParam> {
        self.0
    }

    /// The parameters as the REMOTE protocol sends them.
    pub fn to_remote(&self) -> Vec<RemoteTypedParam> {
        self.0.iter().map(RemoteTypedParam::from).collect()
    }

    /// Parameters received in the REMOTE protocol.
    pub fn from_remote(params: &[RemoteTypedParam]) -> Result<Self, TypedParamError> {
        params
            .iter()
            .map(TypedParam::try_from)
            .collect::<Result<_, _>>()
            .map(TypedParams)
    }

    /// The parameters as the ADMIN protocol sends them.
    pub fn to_admin(&self) -> Vec<AdminTypedParam> {
        self.0.iter().map(AdminTypedParam::from).collect()
    }

    /// Parameters received in the ADMIN protocol.
    pub fn from_admin(params: &[AdminTypedParam]) -> Result<Self, TypedParamError> {
        params
            .iter()
            .map(TypedParam::try_from)
            .collect::<Result<_, _>>()
            .map(TypedParams)
    }
}

impl<'a> IntoIterator for &'a TypedParams {
    type Item = &'a TypedParam;
    type IntoIter = core::slice::Iter<'a, TypedParam>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for TypedParams {
    type Item = TypedParam;
    type IntoIter = std::vec::IntoIter<TypedParam>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Builds [`TypedParams`] as libvirt's `virTypedParamsAdd*` do: names
/// shorter than [`FIELD_LENGTH`], each given once except strings, which
/// may repeat to make a list. The first problem is reported by
/// [`build`](TypedParamsBuilder::build).
#[derive(Clone, Debug, Default)]
pub struct TypedParamsBuilder {
    params: Vec<TypedParam>,
}

impl TypedParamsBuilder {
    /// Adds `field` with `value`.
    pub fn add(mut self, field: impl Into<String>, value: TypedValue) -> Self {
        self.params.push(TypedParam {
            field: field.into(),
            value,
        });
        self
    }

    /// Adds an `int`.
    pub fn int(self, field: impl Into<String>, value: i32) -> Self {
        self.add(field, TypedValue::Int(value))
    }

    /// Adds an `unsigned int`.
    pub fn uint(self, field: impl Into<String>, value: u32) -> Self {
        self.add(field, TypedValue::UInt(value))
    }

    /// Adds a `long long`.
    pub fn llong(self, field: impl Into<String>, value: i64) -> Self {
        self.add(field, TypedValue::LLong(value))
    }

    /// Adds an `unsigned long long`.
    pub fn ullong(self, field: impl Into<String>, value: u64) -> Self {
        self.add(field, TypedValue::ULLong(value))
    }

    /// Adds a `double`.
    pub fn double(self, field: impl Into<String>, value: f64) -> Self {
        self.add(field, TypedValue::Double(value))
    }

    /// Adds a boolean.
    pub fn boolean(self, field: impl Into<String>, value: bool) -> Self {
        self.add(field, TypedValue::Boolean(value))
    }

    /// Adds a string (again for a list).
    pub fn string(self, field: impl Into<String>, value: impl Into<String>) -> Self {
        self.add(field, TypedValue::String(value.into()))
    }

    /// The parameters, or the first one libvirt would refuse.
    pub fn build(self) -> Result<TypedParams, TypedParamError> {
        for (i, param) in self.params.iter().enumerate() {
            if param.field.len() >= FIELD_LENGTH {
                return Err(TypedParamError::FieldTooLong {
                    field: param.field.clone(),
                });
            }
            let repeated = self.params[..i].iter().any(|earlier| {
                earlier.field == param.field
                    && !(matches!(earlier.value, TypedValue::String(_))
                        && matches!(param.value, TypedValue::String(_)))
            });
            if repeated {
                return Err(TypedParamError::DuplicateField {
                    field: param.field.clone(),
                });
            }
        }
        Ok(TypedParams(self.params))
    }
}

fn utf8(field: &XdrString, bytes: &XdrString) -> Result<String, TypedParamError> {
    bytes
        .to_str()
        .map(str::to_string)
        .map_err(|_| TypedParamError::NotUtf8 {
            field: field.to_string_lossy().into_owned(),
        })
}

/// The conversions for one protocol's `<p>_typed_param`: the REMOTE and
/// ADMIN protocols declare the same union under their own names.
macro_rules! wire_conversions {
    ($param:ident, $value:ident) => {
        impl From<&TypedParam> for $param {
            fn from(param: &TypedParam) -> Self {
                let value = match &param.value {
                    TypedValue::Int(v) => $value::VirTypedParamInt(*v),
                    TypedValue::UInt(v) => $value::VirTypedParamUint(*v),
                    TypedValue::LLong(v) => $value::VirTypedParamLlong(*v),
                    TypedValue::ULLong(v) => $value::VirTypedParamUllong(*v),
                    TypedValue::Double(v) => $value::VirTypedParamDouble(*v),
                    TypedValue::Boolean(v) => $value::VirTypedParamBoolean(i32::from(*v)),
                    TypedValue::String(v) => $value::VirTypedParamString(v.as_str().into()),
                };
                $param {
                    field: param.field.as_str().into(),
                    value,
                }
            }
        }

        impl TryFrom<&$param> for TypedParam {
            type Error = TypedParamError;

            fn try_from(param: &$param) -> Result<Self, TypedParamError> {
                let value = match &param.value {
                    $value::VirTypedParamInt(v) => TypedValue::Int(*v),
                    $value::VirTypedParamUint(v) => TypedValue::UInt(*v),
                    $value::VirTypedParamLlong(v) => TypedValue::LLong(*v),
                    $value::VirTypedParamUllong(v) => TypedValue::ULLong(*v),
                    $value::VirTypedParamDouble(v) => TypedValue::Double(*v),
                    $value::VirTypedParamBoolean(v) => TypedValue::Boolean(*v != 0),
                    $value::VirTypedParamString(v) => TypedValue::String(utf8(&param.field, v)?),
                };
                Ok(TypedParam {
                    field: utf8(&param.field, &param.field)?,
                    value,
                })
            }
        }
    };
}

wire_conversions!(RemoteTypedParam, RemoteTypedParamValue);
wire_conversions!(AdminTypedParam, AdminTypedParamValue);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::fields;
    use xdrgen_runtime::{DecodeError, Decoder, Limits, XdrDecode, XdrEncode};

    fn every_type() -> TypedParams {
        TypedParams::builder()
            .int("i", -5)
            .uint("ui", u32::MAX)
            .llong("l", i64::MIN)
            .ullong(fields::VIR_DOMAIN_SCHEDULER_CPU_SHARES, 1024)
            .double("d", 0.25)
            .boolean("b", true)
            .string("s", "one")
            .string("s", "two")
            .build()
            .unwrap()
    }

    #[test]
    fn every_type_round_trips_through_both_protocols_and_the_wire() {
        let params = every_type();
        let remote = params.to_remote();
        assert_eq!(remote[3].field, "cpu_shares");
        assert_eq!(
            remote[3].value,
            RemoteTypedParamValue::VirTypedParamUllong(1024)
        );
        assert_eq!(
            remote[5].value,
            RemoteTypedParamValue::VirTypedParamBoolean(1)
        );
        assert_eq!(TypedParams::from_remote(&remote).unwrap(), params);
        assert_eq!(TypedParams::from_admin(&params.to_admin()).unwrap(), params);

        let mut bytes = Vec::new();
        for param in &remote {
            param.encode(&mut bytes).unwrap();
        }
        let mut decoder = Decoder::new(&bytes, &Limits::default()).unwrap();
        let decoded: Vec<RemoteTypedParam> = (0..remote.len())
            .map(|_| RemoteTypedParam::decode(&mut decoder).unwrap())
            .collect();
        assert_eq!(TypedParams::from_remote(&decoded).unwrap(), params);
    }

    #[test]
    fn lookups_by_name() {
        let params = every_type();
        assert_eq!(
            params.get("ui").and_then(TypedValue::as_uint),
            Some(u32::MAX)
        );
        assert_eq!(params.get("ui").and_then(TypedValue::as_int), None);
        assert_eq!(params.get("b").and_then(TypedValue::as_bool), Some(true));
        assert_eq!(params.get("d").and_then(TypedValue::as_double), Some(0.25));
        assert_eq!(
            params.get("l").and_then(TypedValue::as_llong),
            Some(i64::MIN)
        );
        assert_eq!(
            params.get("i").map(TypedValue::kind),
            Some(TypedParameterType::Int)
        );
        assert_eq!(params.get("s").and_then(TypedValue::as_str), Some("one"));
        let list: Vec<&str> = params.get_all("s").filter_map(TypedValue::as_str).collect();
        assert_eq!(list, ["one", "two"]);
        assert_eq!(params.get("missing"), None);
        assert_eq!(params.len(), 8);
    }

    #[test]
    fn any_non_zero_boolean_is_true() {
        let wire = RemoteTypedParam {
            field: "b".into(),
            value: RemoteTypedParamValue::VirTypedParamBoolean(2),
        };
        assert_eq!(
            TypedParam::try_from(&wire).unwrap().value,
            TypedValue::Boolean(true)
        );
    }

    #[test]
    fn the_builder_refuses_what_libvirt_refuses() {
        let long = "x".repeat(FIELD_LENGTH);
        assert_eq!(
            TypedParams::builder().int(long.clone(), 1).build(),
            Err(TypedParamError::FieldTooLong { field: long })
        );
        let longest = "x".repeat(FIELD_LENGTH - 1);
        assert!(TypedParams::builder().int(longest, 1).build().is_ok());
        assert_eq!(
            TypedParams::builder().int("a", 1).string("a", "x").build(),
            Err(TypedParamError::DuplicateField { field: "a".into() })
        );
    }

    #[test]
    fn names_and_strings_that_are_not_utf8_are_errors() {
        let bad_name = RemoteTypedParam {
            field: vec![b'a', 0xff].into(),
            value: RemoteTypedParamValue::VirTypedParamInt(1),
        };
        let bad_value = RemoteTypedParam {
            field: "name".into(),
            value: RemoteTypedParamValue::VirTypedParamString(vec![0xc3].into()),
        };
        assert_eq!(
            TypedParams::from_remote(&[bad_name]),
            Err(TypedParamError::NotUtf8 {
                field: "a\u{fffd}".into()
            })
        );
        let err = TypedParams::from_remote(&[bad_value]).unwrap_err();
        assert_eq!(
            err,
            TypedParamError::NotUtf8 {
                field: "name".into()
            }
        );
        assert_eq!(err.to_string(), "typed parameter 'name' is not UTF-8");
    }

    /// A type code from a newer libvirt never becomes a value: decoding
    /// refuses it with the union's name and the code.
    #[test]
    fn an_unknown_type_code_is_a_decode_error() {
        let mut bytes = Vec::new();
        XdrString::from("field").encode(&mut bytes).unwrap();
        bytes.extend_from_slice(&8i32.to_be_bytes());
        bytes.extend_from_slice(&[0; 8]);
        let mut decoder = Decoder::new(&bytes, &Limits::default()).unwrap();
        let err = RemoteTypedParam::decode(&mut decoder).unwrap_err();
        let DecodeError::InvalidDiscriminant {
            at,
            type_name,
            value,
        } = err
        else {
            panic!("{err:?}");
        };
        // The offset of the type code, after the 4-byte length and the
        // padded name.
        assert_eq!((at, type_name, value), (12, "remote_typed_param_value", 8));
        assert!(TypedParameterType::try_from(8).is_err());
    }
}
