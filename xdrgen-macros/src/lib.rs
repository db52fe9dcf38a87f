//! `#[xdr_program]`: a `.x` protocol definition turned into Rust items at
//! compile time, inside the module the attribute is on.
//!
//! ```ignore
//! #[xdrgen_macros::xdr_program(file = "proto/portmap.x")]
//! pub mod portmap {}
//!
//! let bytes = portmap::Mapping { prog: 100_000, vers: 2, prot: 6, port: 111 }.to_xdr()?;
//! ```
//!
//! Keys mirror the build-script and CLI options of the same names:
//! `file` (relative to the crate's manifest directory) or `source` (the
//! `.x` text inline, for small protocols and tests),
//! `include_dir`, `define = "NAME[=VALUE]"`, `import = "FILE.x[=RUST_PATH]"`,
//! `extern_type = "NAME=RUST_PATH"`, `runtime_path`, `derive`,
//! `type_attribute = "NAME=ATTR"`, `emit = "types" | "programs"` (each may
//! repeat), and the switches
//! `zero_copy`, `serde`, `arbitrary`, `random`, `no_comments`.
//!
//! Every file read (the input, its `#include`s and imports) is tied to the
//! build with `include_bytes!`, so editing any of them recompiles. Errors in
//! the `.x` file become compile errors showing `file:line:col` and the
//! source line.
#![deny(missing_docs)]

use std::path::PathBuf;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::{ItemMod, LitStr};

/// Fills the (empty) module with the Rust generated from a `.x` file.
#[proc_macro_attribute]
pub fn xdr_program(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The macro's work, on `proc_macro2` tokens so it can be tested directly.
fn expand(args: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let module: ItemMod = syn::parse2(item)?;
    if module
        .content
        .as_ref()
        .is_some_and(|(_, items)| !items.is_empty())
    {
        return Err(syn::Error::new_spanned(
            &module.ident,
            "#[xdr_program] fills the module itself: leave it empty (`mod name {}`)",
        ));
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut options = xdrgen_build::Options::new();
    let mut file: Option<LitStr> = None;
    let mut source: Option<LitStr> = None;
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let text = |meta: &syn::meta::ParseNestedMeta<'_>| -> syn::Result<(String, LitStr)> {
            let lit: LitStr = meta.value()?.parse()?;
            Ok((lit.value(), lit))
        };
        let pair = |value: &str, lit: &LitStr, what: &str| -> syn::Result<(String, String)> {
            value
                .split_once('=')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| syn::Error::new(lit.span(), format!("expected \"{what}\"")))
        };
        match key.as_str() {
            "file" => file = Some(meta.value()?.parse()?),
            "source" => source = Some(meta.value()?.parse()?),
            "include_dir" => {
                let (dir, _) = text(&meta)?;
                options.include_dir(manifest.join(dir));
            }
            "define" => {
                let (value, _) = text(&meta)?;
                match value.split_once('=') {
                    Some((n, v)) => options.define(n, Some(v)),
                    None => options.define(value.as_str(), None),
                };
            }
            "import" => {
                let (value, _) = text(&meta)?;
                match value.split_once('=') {
                    Some((f, p)) => options.import(manifest.join(f), Some(p)),
                    None => options.import(manifest.join(&value), None),
                };
            }
            "extern_type" => {
                let (value, lit) = text(&meta)?;
                let (n, p) = pair(&value, &lit, "NAME=RUST_PATH")?;
                options.extern_type(n, p);
            }
            "type_attribute" => {
                let (value, lit) = text(&meta)?;
                let (n, a) = pair(&value, &lit, "NAME=ATTRIBUTE")?;
                options.type_attribute(n, a);
            }
            "runtime_path" => {
                let (value, _) = text(&meta)?;
                options.runtime_path(value);
            }
            "derive" => {
                let (value, _) = text(&meta)?;
                options.derive(value);
            }
            "emit" => {
                let (value, lit) = text(&meta)?;
                let part = match value.as_str() {
                    "types" => xdrgen_build::Part::Types,
                    "programs" => xdrgen_build::Part::Programs,
                    "client" => xdrgen_build::Part::Client,
                    "server" => xdrgen_build::Part::Server,
                    _ => {
                        return Err(syn::Error::new(
                            lit.span(),
                            "expected \"types\", \"programs\", \"client\" or \"server\"",
                        ));
                    }
                };
                options.emit(part);
            }
            "zero_copy" => {
                options.zero_copy(true);
            }
            "serde" => {
                options.serde(true);
            }
            "arbitrary" => {
                options.arbitrary(true);
            }
            "random" => {
                options.random(true);
            }
            "no_comments" => {
                options.no_comments(true);
            }
            _ => return Err(meta.error(format!("unknown #[xdr_program] key `{key}`"))),
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, args)?;
    // `source = "..."`: a small protocol written inline, read from memory.
    let mut memory = xdrgen_build::MemoryLoader::new();
    let (file, path, inline) = match (file, source) {
        (Some(file), None) => {
            let path = manifest.join(file.value());
            (file, path, false)
        }
        (None, Some(source)) => {
            memory.insert("inline.x", source.value());
            (source, PathBuf::from("inline.x"), true)
        }
        (Some(f), Some(_)) => {
            return Err(syn::Error::new(
                f.span(),
                "give either `file` or `source`, not both",
            ));
        }
        (None, None) => {
            return Err(syn::Error::new_spanned(
                &module.ident,
                "#[xdr_program] needs `file = \"path/to/protocol.x\"` or `source = \"...\"`",
            ));
        }
    };
    let loader: &dyn xdrgen_build::FileLoader = if inline {
        &memory
    } else {
        &xdrgen_build::FsLoader
    };
    let generated = xdrgen_build::generate_with(loader, &path, &options).map_err(|e| {
        let text = match &e {
            xdrgen_build::Error::Source(d) => d.render(xdrgen_build::diagnostics::Style::Plain),
            other => other.to_string(),
        };
        // Paths as the user wrote them: relative to their crate.
        let prefix = format!("{}/", manifest.display());
        syn::Error::new(file.span(), text.replace(&prefix, ""))
    })?;
    let items = generated.to_token_stream();
    // rustc does not track files a macro reads; `include_bytes!` makes it.
    // Inline sources read no file.
    let read: &[PathBuf] = if inline {
        &[]
    } else {
        &generated.checked.files_read
    };
    let tracked = read.iter().map(|p| {
        let p = p.display().to_string();
        quote!(
            const _: &[u8] = include_bytes!(#p);
        )
    });
    let attrs = &module.attrs;
    let vis = &module.vis;
    let name = &module.ident;
    Ok(quote! {
        #(#attrs)*
        #vis mod #name {
            #(#tracked)*
            #items
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(args: TokenStream2, item: TokenStream2) -> String {
        match expand(args, item) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn x_file_errors_show_their_location() {
        let e = error_of(
            quote!(file = "../fixtures/errors/E0101-undefined-type.x"),
            quote!(
                mod m {}
            ),
        );
        assert!(
            e.contains("E0101-undefined-type.x:4:5: error[E0101]: undefined type `fattr4`"),
            "{e}"
        );
        assert!(e.contains("^^^^^^"), "{e}");
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(
            error_of(
                quote!(file = "x.x", colour = "blue"),
                quote!(
                    mod m {}
                )
            )
            .contains("unknown #[xdr_program] key")
        );
        assert!(
            error_of(
                quote!(),
                quote!(
                    mod m {}
                )
            )
            .contains("needs `file")
        );
        assert!(
            error_of(
                quote!(file = "x.x"),
                quote!(
                    mod m {
                        fn f() {}
                    }
                )
            )
            .contains("leave it empty")
        );
        assert!(
            error_of(
                quote!(file = "no/such.x"),
                quote!(
                    mod m {}
                )
            )
            .contains("cannot read")
        );
    }

    #[test]
    fn every_file_read_is_tracked() {
        let out = expand(
            quote!(file = "../fixtures/x/preprocessor.x"),
            quote!(
                pub mod p {}
            ),
        )
        .unwrap()
        .to_string();
        assert!(out.contains("preprocessor.x"), "{out}");
        assert!(
            out.contains("include/common.x"),
            "the #include must be tracked too"
        );
        assert!(out.contains("pub mod p"));
    }
}
