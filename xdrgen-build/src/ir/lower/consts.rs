//! Constants, evaluated on demand: `const`s, enum members (counting on
//! from the previous one), macros, rpcgen's program/version/procedure
//! names; cycles and chains too deep are errors. Bounds and numbers that
//! must fit a range are checked here too.

use super::{Def, Lowerer, Unit};
use crate::consteval::{self, EvalResult, Scope};
use crate::diagnostics::{Code, Diagnostic, did_you_mean};
use crate::ir::names;
use crate::ir::{Const, ConstKind, ConstValue, Name};
use crate::syntax::ast::{self, DefineOrigin, EnumBody, Expr, Ident, Macro, MacroBody};

/// Where a constant's evaluation stands.
#[derive(Clone, Copy)]
pub(super) enum State {
    Busy,
    Done(Option<i128>),
}

/// Deepest chain of constants defined through each other.
const MAX_EVAL_DEPTH: u32 = 64;

impl<'a> Lowerer<'a> {
    pub(super) fn value_name(id: &Ident) -> Name {
        Name {
            xdr: id.name.clone(),
            rust: names::const_name(&id.name),
            span: id.span,
        }
    }

    /// Evaluates `key` once; `Busy` catches definitions that use themselves.
    fn memo(
        &mut self,
        key: &'a str,
        used_at: &Ident,
        f: impl FnOnce(&mut Self) -> EvalResult,
    ) -> EvalResult {
        match self.values.get(key) {
            Some(State::Done(v)) => return v.ok_or(None),
            Some(State::Busy) => {
                return Err(Some(
                    Diagnostic::new(
                        Code::ConstEval,
                        format!("constant `{key}` depends on itself"),
                    )
                    .primary(used_at.span, "used here while it is being defined"),
                ));
            }
            None => {}
        }
        if self.eval_depth >= MAX_EVAL_DEPTH {
            return Err(Some(
                Diagnostic::new(
                    Code::ConstEval,
                    format!("constant `{key}` is defined through more than {MAX_EVAL_DEPTH} other constants"),
                )
                .primary(used_at.span, ""),
            ));
        }
        self.values.insert(key, State::Busy);
        self.eval_depth += 1;
        let result = f(self);
        self.eval_depth -= 1;
        let stored = match result {
            Ok(v) => Some(v),
            Err(d) => {
                self.diags.extend(d);
                None
            }
        };
        self.values.insert(key, State::Done(stored));
        stored.ok_or(None)
    }

    pub(super) fn member_value(
        &mut self,
        body: &'a EnumBody,
        index: usize,
        used_at: &Ident,
    ) -> EvalResult {
        let known = |lw: &Self, j: usize| {
            let m = &body.members[j];
            if lw.owns_member(body, j) {
                match lw.values.get(m.name.name.as_str()) {
                    Some(State::Done(v)) => Some(*v),
                    _ => None,
                }
            } else {
                None
            }
        };
        if let Some(v) = known(self, index) {
            return v.ok_or(None);
        }
        // Members without `= value` count on from the previous one; find
        // the nearest member that is explicit or already known and count
        // forward (no deep recursion, linear over a whole enum).
        let base_index = (0..=index)
            .rev()
            .find(|&j| body.members[j].value.is_some() || matches!(known(self, j), Some(Some(_))))
            .unwrap_or(0);
        let base_name = body.members[base_index].name.name.as_str();
        let base_owned = self.owns_member(body, base_index);
        let base = match (&body.members[base_index].value, known(self, base_index)) {
            (_, Some(Some(v))) => v,
            (Some(expr), _) if base_owned => {
                self.memo(base_name, used_at, |s| consteval::eval(expr, s))?
            }
            (Some(expr), _) => consteval::eval(expr, self)?,
            (None, _) => {
                if base_owned {
                    self.values.insert(base_name, State::Done(Some(0)));
                }
                0
            }
        };
        let mut value = base;
        for k in base_index + 1..=index {
            value += 1;
            let m = &body.members[k];
            if m.value.is_none() && self.owns_member(body, k) && known(self, k).is_none() {
                self.values.insert(&m.name.name, State::Done(Some(value)));
            }
        }
        Ok(value)
    }

    fn macro_value(&mut self, mac: &'a Macro, used_at: &Ident) -> EvalResult {
        let define = &mac.define;
        if self.used_macro_names.insert(&define.name.name) {
            self.used_macros.push(mac);
        }
        self.memo(&define.name.name, used_at, |s| {
            if mac.body == MacroBody::Empty {
                return Err(Some(
                    Diagnostic::new(
                        Code::WrongKind,
                        format!("macro `{}` has no value", define.name.name),
                    )
                    .primary(used_at.span, "used as a constant here")
                    .secondary(define.name.span, "defined without a value"),
                ));
            }
            let Some(expr) = mac.body.expr() else {
                return Err(Some(
                    Diagnostic::new(
                        Code::WrongKind,
                        format!(
                            "macro `{}` is `{}`, not an integer constant",
                            define.name.name,
                            define.body.trim()
                        ),
                    )
                    .primary(used_at.span, "used as a constant here")
                    .secondary(define.body_span, "defined here"),
                ));
            };
            consteval::eval(expr, s)
        })
    }

    fn rpc_value(&mut self, name: &'a Ident, numbers: &[&'a Expr], used_at: &Ident) -> EvalResult {
        let numbers = numbers.to_vec();
        self.memo(&name.name, used_at, |s| {
            let mut values = Vec::new();
            for e in &numbers {
                values.push(consteval::eval(e, s)?);
            }
            values.dedup();
            if values.len() > 1 {
                return Err(Some(
                    Diagnostic::new(
                        Code::WrongKind,
                        format!("`{}` names procedures with different numbers", name.name),
                    )
                    .primary(used_at.span, "ambiguous here"),
                ));
            }
            Ok(values[0])
        })
    }

    pub(super) fn suggest(&mut self, name: &str, values: bool) -> Option<&'a str> {
        if self.suggestions_left == 0 {
            return None;
        }
        self.suggestions_left -= 1;
        let candidates = self.candidates(values);
        did_you_mean(name, candidates)
    }

    /// Every constant-like (`values`) or type name, sorted, for "did you
    /// mean" suggestions.
    fn candidates(&self, values: bool) -> Vec<&'a str> {
        let mut v: Vec<&str> = self
            .symbols
            .iter()
            .filter(|(_, d)| d.is_value() == values)
            .map(|(k, _)| *k)
            .collect();
        v.sort_unstable();
        v
    }

    /// The value of a constant expression that must fit `lo..=hi`.
    fn ranged(&mut self, expr: &Expr, lo: i128, hi: i128, what: &str) -> Option<i128> {
        match consteval::eval(expr, self) {
            Ok(v) if (lo..=hi).contains(&v) => Some(v),
            Ok(v) => {
                self.diags.push(
                    Diagnostic::new(Code::Range, format!("{what} {v} is out of range"))
                        .primary(expr.span(), format!("must be from {lo} to {hi}")),
                );
                None
            }
            Err(d) => {
                self.diags.extend(d);
                None
            }
        }
    }

    pub(super) fn u32_value(&mut self, expr: &Expr, what: &str) -> Option<u32> {
        self.ranged(expr, 0, u32::MAX.into(), what)
            .and_then(|v| u32::try_from(v).ok())
    }

    /// An array, opaque or string size.
    pub(super) fn bound(&mut self, expr: &Expr) -> Option<u32> {
        if let Expr::Name(id) = expr {
            if let Some(Def::Type { span, .. }) = self.symbols.get(id.name.as_str()) {
                let mut d = Diagnostic::new(
                    Code::Bound,
                    format!("array bound `{}` is a type, not a constant", id.name),
                )
                .primary(id.span, "not a constant");
                if let Some(span) = span {
                    d = d.secondary(*span, "defined as a type here");
                }
                self.diags.push(d);
                return None;
            }
        }
        match consteval::eval(expr, self) {
            Ok(v) => {
                let bound = u32::try_from(v).ok();
                if bound.is_none() {
                    self.diags.push(
                        Diagnostic::new(Code::Bound, format!("array bound {v} is out of range"))
                            .primary(expr.span(), "must be from 0 to 4294967295"),
                    );
                }
                bound
            }
            Err(d) => {
                self.diags.extend(d);
                None
            }
        }
    }

    pub(super) fn macro_const(&mut self, mac: &'a Macro) {
        let define = &mac.define;
        let Some(Def::Macro {
            unit: Unit::Local,
            mac: current,
        }) = self.symbols.get(define.name.name.as_str())
        else {
            return;
        };
        if !std::ptr::eq(*current, mac) {
            return;
        }
        let Some(State::Done(Some(v))) = self.values.get(define.name.name.as_str()) else {
            return;
        };
        let kind = match define.origin {
            DefineOrigin::CommandLine => ConstKind::CommandLine,
            DefineOrigin::Directive => ConstKind::Define,
            DefineOrigin::Passthrough => ConstKind::PassthroughDefine,
            DefineOrigin::Builtin => ConstKind::Builtin,
        };
        self.consts.push(Const {
            name: Self::value_name(&define.name),
            value: ConstValue::Int(*v),
            kind,
            docs: Vec::new(),
        });
    }
}

impl Scope for Lowerer<'_> {
    fn value(&mut self, id: &Ident) -> EvalResult {
        let Some(def) = self.symbols.get(id.name.as_str()).cloned() else {
            let mut d = Diagnostic::new(
                Code::UndefinedConst,
                format!("undefined constant `{}`", id.name),
            )
            .primary(id.span, "not defined");
            if let Some(s) = self.suggest(&id.name, true) {
                d = d.help(format!("did you mean `{s}`?"));
            } else {
                d = d.help(format!(
                    "if it comes from a C header, define it: `{}`",
                    self.inputs
                        .door
                        .spell_option("defines", &format!("{}=VALUE", id.name))
                ));
            }
            return Err(Some(d));
        };
        match def {
            Def::Const {
                name,
                value: ast::ConstValue::Int(expr),
                ..
            } => self.memo(&name.name, id, |s| consteval::eval(expr, s)),
            Def::Const {
                name,
                value: ast::ConstValue::Str(..),
                ..
            } => Err(Some(
                Diagnostic::new(
                    Code::WrongKind,
                    format!("`{}` is a string constant, not a number", id.name),
                )
                .primary(id.span, "a number is needed here")
                .secondary(name.span, "defined as a string here"),
            )),
            Def::Member { inline: true, .. }
                if self.shared_inline_members.contains_key(id.name.as_str()) =>
            {
                let mut d = Diagnostic::new(
                    Code::UndefinedConst,
                    format!("`{}` is a member of several inline enums", id.name),
                )
                .primary(id.span, "not a global constant");
                for span in &self.shared_inline_members[id.name.as_str()] {
                    d = d.secondary(*span, "a member here");
                }
                Err(Some(d.note("members of enums written in place are scoped to their enum; a name several of them share is no constant")))
            }
            Def::Member { body, index, .. } => self.member_value(body, index, id),
            Def::Macro { mac, .. } => self.macro_value(mac, id),
            Def::Rpc { name, numbers, .. } => self.rpc_value(name, &numbers, id),
            Def::Type { span, .. } => {
                let mut d = Diagnostic::new(
                    Code::WrongKind,
                    format!("`{}` is a type, not a constant", id.name),
                )
                .primary(id.span, "a constant is needed here");
                if let Some(span) = span {
                    d = d.secondary(span, "defined as a type here");
                }
                Err(Some(d))
            }
        }
    }

    fn is_defined(&mut self, name: &Ident) -> bool {
        self.symbols.contains_key(name.name.as_str())
    }
}
