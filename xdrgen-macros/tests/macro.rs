//! The macro on real files: generated items are usable, and errors in the
//! `.x` file surface with their location.

use xdrgen_runtime::{XdrDecode, XdrEncode};

#[xdrgen_macros::xdr_program(file = "../protocols/xdr/portmap.x")]
mod portmap {}

#[xdrgen_macros::xdr_program(
    file = "../fixtures/x/defines.x",
    define = "VIR_UUID_BUFLEN=16",
    define = "FLAG",
    extern_type = "external_thing=crate::Thing"
)]
mod defines {}

#[xdrgen_macros::xdr_program(file = "../fixtures/x/recursion.x", zero_copy)]
mod borrowed {}

#[xdrgen_macros::xdr_program(source = "
    const LIMIT = 4;
    struct point { int x; int y; };
    union shape switch (int kind) {
    case 1: point center;
    default: void;
    };
    typedef point polygon<LIMIT>;
")]
mod inline {}

/// The external type `defines.x` maps with `extern_type`.
#[derive(Clone, Debug, PartialEq)]
pub struct Thing(pub i32);

impl XdrEncode for Thing {
    fn encoded_len(&self) -> usize {
        4
    }
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), xdrgen_runtime::EncodeError> {
        self.0.encode(out)
    }
}

impl XdrDecode for Thing {
    fn decode(d: &mut xdrgen_runtime::Decoder<'_>) -> Result<Self, xdrgen_runtime::DecodeError> {
        i32::decode(d).map(Thing)
    }
}

#[test]
fn generated_items_work() {
    let m = portmap::Mapping {
        prog: 100_000,
        vers: 2,
        prot: portmap::IPPROTO_TCP,
        port: portmap::PMAP_PORT,
    };
    let bytes = m.to_xdr().unwrap();
    assert_eq!(bytes.len(), 16);
    assert_eq!(portmap::Mapping::from_xdr(&bytes).unwrap(), m);
    assert_eq!(portmap::pmap_prog::PROGRAM, 100_000);
    let u = defines::UsesExternal {
        id: [7; 16],
        thing: Thing(5),
    };
    assert_eq!(
        defines::UsesExternal::from_xdr(&u.to_xdr().unwrap()).unwrap(),
        u
    );
    assert_eq!(defines::FLAG_SEEN, 1);
}

#[test]
fn inline_definitions() {
    let s = inline::Shape::Case1(inline::Point { x: 1, y: -2 });
    assert_eq!(inline::Shape::from_xdr(&s.to_xdr().unwrap()).unwrap(), s);
    assert_eq!(inline::LIMIT, 4);
    let d = inline::Shape::Default(inline::ShapeDefault::new(9).expect("9 has no case of its own"));
    assert_eq!(d.to_xdr().unwrap(), [0, 0, 0, 9]);
    assert!(inline::ShapeDefault::new(1).is_none(), "1 is case 1's");
}

#[test]
fn zero_copy_through_the_macro() {
    use xdrgen_runtime::XdrDecodeBorrowed;
    let bytes = [
        0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, b'x', 0, 0, 0, 0, 0, 0, 0,
    ];
    let e = borrowed::Entry::from_xdr_borrowed(&bytes).unwrap();
    assert_eq!(e.fileid, 9);
    assert_eq!(e.name, "x");
}
