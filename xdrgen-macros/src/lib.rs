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
//! Besides `file` (relative to the crate's manifest directory) or `source`
//! (the `.x` text inline, for small protocols and tests), the keys are the
//! options of the build-script API and the CLI, named like the builder
//! methods: `define = "NAME[=VALUE]"`, `import = "FILE.x[=RUST_PATH]"`,
//! `emit = "client"`, switches such as `zero_copy` without a value, each
//! list option repeatable. docs/options.md lists every key; they come from
//! the same table as the builder methods and flags, so they cannot drift.
//! Relative paths (`include_dir`, `import`) are relative to the manifest
//! directory too.
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
use syn::spanned::Spanned;
use syn::{ItemMod, LitStr};

/// Fills the (empty) module with the Rust generated from a `.x` file.
#[proc_macro_attribute]
pub fn xdr_program(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// What the attribute says: the options, and the input.
struct Attribute {
    options: xdrgen_build::Options,
    file: Option<LitStr>,
    source: Option<LitStr>,
}

/// Parses the attribute's keys: `file` and `source` here, every other key
/// through the options table (`Options::apply_macro_key`), so the macro
/// accepts exactly the keys docs/options.md lists. Paths stay as written.
fn parse_attribute(args: TokenStream2) -> syn::Result<Attribute> {
    let mut options = xdrgen_build::Options::new();
    options.set_door(xdrgen_build::Door::Macro);
    let mut attribute = Attribute {
        options,
        file: None,
        source: None,
    };
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match key.as_str() {
            "file" => attribute.file = Some(meta.value()?.parse()?),
            "source" => attribute.source = Some(meta.value()?.parse()?),
            _ => {
                let value: Option<LitStr> = if meta.input.peek(syn::Token![=]) {
                    Some(meta.value()?.parse()?)
                } else {
                    None
                };
                // An unknown key is the key's fault; a bad value the value's.
                let known = xdrgen_build::Options::specs()
                    .iter()
                    .any(|spec| spec.key == Some(key.as_str()));
                let span = match &value {
                    Some(value) if known => value.span(),
                    _ => meta.path.span(),
                };
                attribute
                    .options
                    .apply_macro_key(&key, value.as_ref().map(LitStr::value).as_deref())
                    .map_err(|e| syn::Error::new(span, e))?;
            }
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, args)?;
    Ok(attribute)
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
    let Attribute {
        mut options,
        file,
        source,
    } = parse_attribute(args)?;
    options.resolve_paths(&manifest);
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

    /// The options a fixture's first line (`/* xdrgen: ARGS */`) gives,
    /// paths made absolute.
    fn fixture_options(path: &std::path::Path) -> xdrgen_build::Options {
        let text = std::fs::read_to_string(path).unwrap();
        let args = xdrgen_testenv::fixture_args(&text);
        let mut options = xdrgen_build::Options::from_args(args).unwrap();
        options.resolve_paths(path.parent().unwrap());
        options
    }

    /// `key = "value", switch, ...` as a user writes it.
    fn attribute(options: &xdrgen_build::Options, file: &std::path::Path) -> TokenStream2 {
        let file = file.display().to_string();
        let keys = options.to_macro_keys().into_iter().map(|(key, value)| {
            let key = syn::Ident::new(key, proc_macro2::Span::call_site());
            match value {
                Some(value) => quote!(#key = #value),
                None => quote!(#key),
            }
        });
        quote!(file = #file #(, #keys)*)
    }

    /// Options -> macro keys -> Options gives the same options and the same
    /// tokens, for every fixture, with every option the macro has a key for
    /// set: no option exists in one door and not the other.
    #[test]
    fn options_keys_options_round_trip() {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = manifest.join("../fixtures/x").canonicalize().unwrap();
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "x") {
                continue;
            }
            let mut options = fixture_options(&path);
            options
                .include_dir(dir.join("include"))
                .runtime_path("::xdrgen_runtime")
                .derive("crate::support::MyDerive")
                .type_attribute("*", "#[allow(dead_code)]")
                .random(true)
                .no_comments(true)
                .serde(true)
                .arbitrary(true);
            for variant in [false, true] {
                if variant {
                    options
                        .zero_copy(true)
                        .serde(false)
                        .arbitrary(false)
                        .emit(xdrgen_build::Part::Types)
                        .emit(xdrgen_build::Part::Programs);
                }
                let attr = attribute(&options, &path);
                let mut back = parse_attribute(attr.clone()).unwrap().options;
                back.resolve_paths(&manifest);
                assert_eq!(back, options, "{attr}");
                let tokens = |o: &xdrgen_build::Options| {
                    xdrgen_build::generate(&path, o)
                        .unwrap()
                        .to_token_stream()
                        .to_string()
                };
                assert_eq!(tokens(&options), tokens(&back), "{}", path.display());
            }
            checked += 1;
        }
        assert!(checked >= 10, "{checked} fixtures");
    }

    #[test]
    fn option_errors_name_the_key() {
        let item = quote!(
            mod m {}
        );
        let e = error_of(
            quote!(file = "../fixtures/x/basic.x", runtime_path = "not a path!"),
            item.clone(),
        );
        assert!(
            e.contains("`runtime_path = \"not a path!\"`: not a Rust path"),
            "{e}"
        );
        let e = error_of(quote!(file = "x.x", emit = "everything"), item.clone());
        assert!(
            e.contains("`emit = \"everything\"`: expected types|programs|client|server"),
            "{e}"
        );
        let e = error_of(quote!(file = "x.x", zero_copy = "yes"), item.clone());
        assert!(e.contains("`zero_copy` takes no value"), "{e}");
        let e = error_of(quote!(file = "../fixtures/x/defines.x"), item);
        assert!(
            e.contains("define it: `define = \"VIR_UUID_BUFLEN=VALUE\"`"),
            "hints name the macro key: {e}"
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
