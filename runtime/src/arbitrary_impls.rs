//! `arbitrary::Arbitrary` for the runtime's types (feature `arbitrary`), so
//! generated types can derive it for fuzzing.

use arbitrary::{Arbitrary, Result, Unstructured};

use crate::{Quadruple, XdrString};

impl<'a> Arbitrary<'a> for XdrString {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        // Any bytes: XDR strings need not be UTF-8.
        Ok(XdrString::from(<&[u8]>::arbitrary(u)?))
    }
}

impl<'a> Arbitrary<'a> for Quadruple {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Quadruple(<[u8; 16]>::arbitrary(u)?))
    }
}
