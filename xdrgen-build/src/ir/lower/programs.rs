//! ONC RPC programs: versions and procedures with their numbers,
//! arguments and results.

use std::collections::HashMap;

use super::checks::check_number;
use super::{Lowerer, Unit, doc_lines};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::names;
use crate::ir::{Arg, Name, Procedure, Program, Version};
use crate::source::Span;
use crate::syntax::ast::{self, Expr, Ident, ProcType, Shape, TypeSpec};

impl<'a> Lowerer<'a> {
    pub(super) fn lower_program(&mut self, p: &'a ast::Program) -> Option<Program> {
        let number = self.u32_value(&p.number, "program number");
        let mut versions = Vec::new();
        let mut seen = Siblings::default();
        for v in &p.versions {
            let vnum = self.unique_number(&mut seen, &v.name, &v.number, "version");
            let procedures = self.lower_procedures(v);
            if let Some(number) = vnum {
                versions.push(Version {
                    name: rpc_name(&v.name, names::module_name),
                    number,
                    procedures,
                    docs: doc_lines(&v.docs),
                });
            }
        }
        Some(Program {
            name: rpc_name(&p.name, names::module_name),
            number: number?,
            versions,
            docs: doc_lines(&p.docs),
        })
    }

    fn lower_procedures(&mut self, v: &'a ast::Version) -> Vec<Procedure> {
        let mut procedures = Vec::new();
        let mut seen = Siblings::default();
        for proc in &v.procedures {
            let pnum = self.unique_number(&mut seen, &proc.name, &proc.number, "procedure");
            let result = match &proc.result {
                ProcType::Void(_) => None,
                ProcType::Type { ty, shape, .. } => {
                    self.lower_ty(ty, shape, &proc.name.name, "result", Unit::Local, true)
                }
            };
            let args = self.lower_args(proc);
            if let Some(number) = pnum {
                procedures.push(Procedure {
                    name: rpc_name(&proc.name, names::field_name),
                    variant: names::variant_name(&proc.name.name),
                    number,
                    context: names::context_param(&args).to_string(),
                    args,
                    result,
                    docs: doc_lines(&proc.docs),
                });
            }
        }
        procedures
    }

    /// A procedure's arguments; `(void)` is none, and unnamed ones are
    /// `arg1`, `arg2`, ... as rpcgen names them. Their Rust names are
    /// [`arg_rust_names`].
    fn lower_args(&mut self, proc: &'a ast::Procedure) -> Vec<Arg> {
        let mut args = Vec::new();
        if proc.args.len() == 1 && matches!(proc.args[0].ty, ProcType::Void(_)) {
            return args;
        }
        for (i, arg) in proc.args.iter().enumerate() {
            match &arg.ty {
                ProcType::Void(span) => self.diags.push(
                    Diagnostic::new(Code::Void, "`void` must be a procedure's only argument")
                        .primary(*span, ""),
                ),
                ProcType::Type { ty, shape, span } => {
                    let (xdr, span) = match &arg.name {
                        Some(id) => (id.name.clone(), id.span),
                        None => (format!("arg{}", i + 1), *span),
                    };
                    let rust = arg_rust_name(arg, ty, shape);
                    if let Some(ty) =
                        self.lower_ty(ty, shape, &proc.name.name, &xdr, Unit::Local, true)
                    {
                        args.push(Arg {
                            name: Name { xdr, rust, span },
                            ty,
                        });
                    }
                }
            }
        }
        unique_arg_names(&mut args);
        args
    }

    /// A version's or procedure's number; its name and its number must
    /// each be unique among its siblings.
    fn unique_number(
        &mut self,
        seen: &mut Siblings<'a>,
        name: &'a Ident,
        number: &Expr,
        what: &str,
    ) -> Option<u32> {
        self.check_member_dup(&mut seen.names, name, what);
        let value = self.u32_value(number, &format!("{what} number"))?;
        check_number(
            &mut seen.numbers,
            value,
            number.span(),
            what,
            &mut self.diags,
        );
        Some(value)
    }
}

/// The names and numbers the versions of one program, or the procedures
/// of one version, have used so far.
#[derive(Default)]
struct Siblings<'a> {
    names: HashMap<&'a str, Span>,
    numbers: HashMap<u32, Span>,
}

/// The Rust name of one argument, the same on the client's methods, the
/// server trait's methods and the dispatcher's locals: as written, or
/// for an unnamed argument of a named type that type's name
/// (`mountres3 MOUNTPROC3_MNT(dirpath)` → `dirpath: &Dirpath`), else
/// `args`.
fn arg_rust_name(arg: &ast::ProcArg, ty: &TypeSpec, shape: &Shape) -> String {
    match (&arg.name, ty, shape) {
        (Some(id), ..) => names::field_name(&id.name),
        (None, TypeSpec::Named { name, .. }, Shape::Scalar) => names::field_name(&name.name),
        _ => "args".to_string(),
    }
}

/// Names that two arguments share (two of one type, several `args`),
/// and `cx`, which the dispatcher's call context holds, become the
/// positional `arg1`, `arg2`... rpcgen uses.
fn unique_arg_names(args: &mut [Arg]) {
    let taken: Vec<String> = args.iter().map(|a| a.name.rust.clone()).collect();
    for (i, arg) in args.iter_mut().enumerate() {
        let shared = taken.iter().filter(|n| **n == arg.name.rust).count() > 1;
        if shared || arg.name.rust == "cx" {
            arg.name.rust = format!("arg{}", i + 1);
        }
    }
}

/// Programs and versions are module names in Rust, procedures method
/// names.
fn rpc_name(id: &Ident, rust: fn(&str) -> String) -> Name {
    Name {
        xdr: id.name.clone(),
        rust: rust(&id.name),
        span: id.span,
    }
}
