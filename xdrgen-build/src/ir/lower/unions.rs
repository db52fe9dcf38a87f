//! Unions: what the discriminant switches on (through typedefs), case
//! labels evaluated and checked against it, the arms and the `default`.

use std::collections::HashMap;

use super::types::lower_prim;
use super::{Def, Lowerer, TypeSrc, Unit, doc_lines};
use crate::consteval;
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::names;
use crate::ir::{CaseLabel, DefaultArm, DiscriminantKind, Field, Name, Prim, Union, UnionArm};
use crate::source::Span;
use crate::syntax::ast::{Decl, Expr, Shape, TypeSpec, UnionBody};

impl<'a> Lowerer<'a> {
    /// What a discriminant type switches on, following typedefs.
    fn discriminant_kind(&mut self, ty: &'a TypeSpec) -> Option<DiscriminantKind> {
        let mut current = ty;
        for _ in 0..64 {
            match current {
                TypeSpec::Prim { prim, .. } => {
                    let prim = lower_prim(*prim);
                    // rpcgen also accepts `hyper` and `unsigned hyper`
                    // discriminants: they travel as 8 bytes.
                    return match prim {
                        Prim::Float | Prim::Double | Prim::Quadruple => None,
                        p => Some(DiscriminantKind::Prim(p)),
                    };
                }
                TypeSpec::Named { name, .. } => match self.symbols.get(name.name.as_str()).cloned()
                {
                    Some(Def::Type {
                        src: TypeSrc::Enum(_),
                        ..
                    }) => {
                        return self.type_id(&name.name).map(DiscriminantKind::Enum);
                    }
                    Some(Def::Type {
                        src:
                            TypeSrc::Typedef(Decl::Named {
                                ty,
                                shape: Shape::Scalar,
                                ..
                            }),
                        ..
                    }) => {
                        current = ty;
                    }
                    _ => return None,
                },
                TypeSpec::InlineEnum(_) => return None,
                _ => return None,
            }
        }
        None
    }

    pub(super) fn lower_union(
        &mut self,
        body: &'a UnionBody,
        name: &str,
        unit: Unit,
    ) -> Option<Union> {
        let (disc_ty, disc_name) = match &body.discriminant {
            Decl::Void(span) => {
                self.diags.push(
                    Diagnostic::new(Code::Void, "a union discriminant cannot be `void`")
                        .primary(*span, ""),
                );
                return None;
            }
            Decl::Named {
                ty,
                name,
                shape,
                span,
            } => {
                if *shape != Shape::Scalar {
                    self.diags.push(
                        Diagnostic::new(
                            Code::Discriminant,
                            "a union discriminant must be a single value",
                        )
                        .primary(*span, "not a scalar"),
                    );
                    return None;
                }
                (ty, name)
            }
        };
        let ty = self.lower_base(disc_ty, name, &disc_name.name, unit)?;
        let Some(kind) = self.discriminant_kind(disc_ty) else {
            self.diags.push(
                Diagnostic::new(Code::Discriminant, "invalid union discriminant type")
                    .primary(disc_ty.span(), "not an integer type, `bool` or an enum")
                    .note("RFC 4506 section 4.15: the discriminant is int, unsigned int or an enumerated type; rpcgen adds bool, hyper and unsigned hyper"),
            );
            return None;
        };
        let discriminant = Field {
            name: Name {
                xdr: disc_name.name.clone(),
                rust: names::field_name(&disc_name.name),
                span: disc_name.span,
            },
            ty,
            docs: Vec::new(),
        };
        let enum_members: Option<Vec<(i128, String)>> = match kind {
            DiscriminantKind::Enum(_) => {
                let TypeSpec::Named { .. } = disc_ty else {
                    return None;
                };
                Some(self.enum_members_of(disc_ty))
            }
            DiscriminantKind::Prim(_) => None,
        };
        let (lo, hi) = match kind {
            DiscriminantKind::Prim(p) => p.range().unwrap_or((0, 0)),
            DiscriminantKind::Enum(_) => (i32::MIN.into(), i32::MAX.into()),
        };

        let mut seen: HashMap<i128, Span> = HashMap::new();
        let mut arm_names: HashMap<&str, Span> = HashMap::new();
        let mut arms = Vec::new();
        for arm in &body.arms {
            let mut cases = Vec::new();
            for label in &arm.labels {
                let Ok(value) = consteval::eval(label, self).map_err(|d| self.diags.extend(d))
                else {
                    continue;
                };
                let label_text = match label {
                    Expr::Name(id) => id.name.clone(),
                    Expr::Int { value, .. } => value.to_string(),
                    _ => value.to_string(),
                };
                let rust = if let Some(members) = &enum_members {
                    if let Some((_, xdr)) = members.iter().find(|(v, _)| *v == value) {
                        names::variant_name(xdr)
                    } else {
                        self.diags.push(
                            Diagnostic::new(
                                Code::CaseValue,
                                format!("case `{label_text}` ({value}) is not a member of the discriminant's enum"),
                            )
                            .primary(label.span(), "not an enum value")
                            .secondary(disc_ty.span(), "the discriminant's type"),
                        );
                        continue;
                    }
                } else if !(lo..=hi).contains(&value) {
                    self.diags.push(
                        Diagnostic::new(
                            Code::CaseValue,
                            format!("case value {value} does not fit the discriminant type"),
                        )
                        .primary(label.span(), format!("must be from {lo} to {hi}"))
                        .secondary(disc_ty.span(), "the discriminant's type"),
                    );
                    continue;
                } else {
                    label_variant(label, value)
                };
                if let Some(first) = seen.get(&value) {
                    self.diags.push(
                        Diagnostic::new(
                            Code::DuplicateCase,
                            format!("duplicate case value {value}"),
                        )
                        .primary(label.span(), "repeated here")
                        .secondary(*first, "first used here"),
                    );
                    continue;
                }
                seen.insert(value, label.span());
                cases.push(CaseLabel {
                    value,
                    label: label_text,
                    rust,
                    span: label.span(),
                });
            }
            if let Decl::Named { name: id, .. } = &arm.decl {
                self.check_member_dup(&mut arm_names, id, "union arm");
            }
            let field = self.lower_field(&arm.decl, &arm.docs, name, unit);
            if matches!(arm.decl, Decl::Named { .. }) && field.is_none() {
                continue;
            }
            arms.push(UnionArm {
                cases,
                field,
                docs: doc_lines(&arm.docs),
            });
        }
        let default = body.default.as_ref().and_then(|(default_span, m)| {
            if let Decl::Named { name: id, .. } = &m.decl {
                self.check_member_dup(&mut arm_names, id, "union arm");
            }
            let field = self.lower_field(&m.decl, &m.docs, name, unit);
            if matches!(m.decl, Decl::Named { .. }) && field.is_none() {
                return None;
            }
            let discriminant_type = format!("{name}_default");
            Some(DefaultArm {
                field,
                rust: "Default".to_string(),
                discriminant_type: Name {
                    rust: names::type_name(&discriminant_type),
                    xdr: discriminant_type,
                    span: *default_span,
                },
                docs: doc_lines(&m.docs),
            })
        });
        Some(Union {
            discriminant,
            discriminant_kind: kind,
            arms,
            default,
        })
    }

    /// `(value, name)` of every member of the enum a discriminant type
    /// names (through typedefs).
    fn enum_members_of(&mut self, ty: &'a TypeSpec) -> Vec<(i128, String)> {
        let mut current = ty;
        loop {
            let TypeSpec::Named { name, .. } = current else {
                return Vec::new();
            };
            match self.symbols.get(name.name.as_str()).cloned() {
                Some(Def::Type {
                    src: TypeSrc::Enum(body),
                    ..
                }) => {
                    let mut out = Vec::new();
                    for (i, m) in body.members.iter().enumerate() {
                        match self.member_value(body, i, &m.name) {
                            Ok(v) => out.push((v, m.name.name.clone())),
                            Err(d) => self.diags.extend(d),
                        }
                    }
                    return out;
                }
                Some(Def::Type {
                    src: TypeSrc::Typedef(Decl::Named { ty, .. }),
                    ..
                }) => current = ty,
                _ => return Vec::new(),
            }
        }
    }
}

/// The Rust variant for a case label of an integer or bool discriminant.
fn label_variant(label: &Expr, value: i128) -> String {
    match label {
        Expr::Name(id) => names::variant_name(&id.name),
        _ if value < 0 => format!("CaseMinus{}", value.unsigned_abs()),
        _ => format!("Case{value}"),
    }
}
