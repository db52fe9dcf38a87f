//! Imports and external types whose Rust path starts with `super` (the
//! default for `import = "FILE.x"`: the file's stem as a sibling module)
//! compile from
//! every module of the generated code: program and version modules reach
//! the imported types through one `use` at the top of the generated
//! module, never through `super::super::` (checked on the text by
//! `xdrgen_build`'s unit tests).

use xdrgen_runtime::rpc::{CallContext, Dispatch, Fault};
use xdrgen_runtime::{XdrDecode, XdrEncode};

#[xdrgen_macros::xdr_program(file = "../fixtures/x/include/shared_types.x")]
mod shared_types {}

/// The default module of the import: `super::shared_types`.
#[xdrgen_macros::xdr_program(
    file = "tests/super_import/tags.x",
    import = "../fixtures/x/include/shared_types.x"
)]
mod by_default {}

/// The import named explicitly, as a module the generated file's program
/// module is also named (the alias gets a `_`), and an external type
/// under `super`.
mod nested {
    mod shared {
        pub(crate) use crate::shared_types::SharedHandle;
    }

    #[xdrgen_macros::xdr_program(
        file = "tests/super_import/echo.x",
        import = "../fixtures/x/include/shared_types.x=super::shared",
        extern_type = "handle=super::shared::SharedHandle"
    )]
    pub mod user {}
}

struct Tags;

impl by_default::tags::tags_v1::Service for Tags {
    async fn lookup(
        &self,
        _cx: &CallContext,
        shared_handle: shared_types::SharedHandle,
    ) -> Result<by_default::Tagged, Fault> {
        Ok(by_default::Tagged {
            handle: shared_handle,
            data: vec![1, 2, 3],
        })
    }

    async fn first(&self, _cx: &CallContext) -> Result<shared_types::SharedHandle, Fault> {
        Ok(shared_types::SharedHandle { id: [1; 16] })
    }
}

impl nested::user::shared::shared_v1::Service for Tags {
    async fn echo(
        &self,
        _cx: &CallContext,
        shared_handle: shared_types::SharedHandle,
    ) -> Result<shared_types::SharedHandle, Fault> {
        Ok(shared_handle)
    }

    async fn same(
        &self,
        _cx: &CallContext,
        handle: shared_types::SharedHandle,
    ) -> Result<shared_types::SharedHandle, Fault> {
        Ok(handle)
    }
}

#[test]
fn imported_types_reach_every_module() {
    let tagged = by_default::Tagged {
        handle: shared_types::SharedHandle { id: [7; 16] },
        data: vec![1, 2, 3],
    };
    let bytes = tagged.to_xdr().unwrap();
    assert_eq!(bytes.len(), 16 + 4 + 4);
    assert_eq!(by_default::Tagged::from_xdr(&bytes).unwrap(), tagged);
    // The server trait's signatures name the imported type, in both
    // files' version modules.
    assert_eq!(
        by_default::tags::tags_v1::Dispatcher(Tags).program(),
        0x2000_0042
    );
    assert_eq!(
        nested::user::shared::shared_v1::Dispatcher(Tags).program(),
        0x2000_0043
    );
}
