//! Integer constant expressions, evaluated the one way both the
//! preprocessor (`#if`) and the resolver (`const`, bounds, case labels) need.
//!
//! Arithmetic is done in `i128`, and every intermediate result must stay
//! within the 64-bit range `-2^63 ..= 2^64-1` that XDR constants can use
//! (signed `hyper` to `unsigned hyper`).

use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::{BinaryOp, Expr, Ident, UnaryOp};

/// Smallest value a constant may have.
pub(crate) const MIN_VALUE: i128 = i64::MIN as i128;
/// Largest value a constant may have.
pub(crate) const MAX_VALUE: i128 = u64::MAX as i128;

/// The result of an evaluation. `Err(None)` means the failure was already
/// reported (a constant used here had its own error), so callers stay quiet.
pub(crate) type EvalResult = Result<i128, Option<Diagnostic>>;

/// What names mean while evaluating.
pub(crate) trait Scope {
    /// The value of a name used in an expression.
    fn value(&mut self, name: &Ident) -> EvalResult;
    /// Whether a macro is defined (`defined(NAME)` in `#if`).
    fn is_defined(&mut self, name: &Ident) -> bool;
}

/// Evaluates an expression.
pub(crate) fn eval(expr: &Expr, scope: &mut dyn Scope) -> EvalResult {
    let value = match expr {
        Expr::Int { value, .. } => i128::from(*value),
        Expr::Char { value, .. } => i128::from(*value),
        Expr::Name(id) => scope.value(id)?,
        Expr::Defined { name, .. } => i128::from(scope.is_defined(name)),
        Expr::Unary { op, operand, .. } => {
            let v = eval(operand, scope)?;
            match op {
                UnaryOp::Neg => -v,
                UnaryOp::Plus => v,
                UnaryOp::Not => i128::from(v == 0),
                // Two's complement: ~x == -x - 1 at any width.
                UnaryOp::BitNot => -v - 1,
            }
        }
        Expr::Conditional {
            cond,
            then,
            otherwise,
            ..
        } => {
            if eval(cond, scope)? != 0 {
                eval(then, scope)?
            } else {
                eval(otherwise, scope)?
            }
        }
        Expr::Binary { op, lhs, rhs, span } => {
            let l = eval(lhs, scope)?;
            // Short-circuit like C, so `defined(X) && X > 2` works.
            match op {
                BinaryOp::And if l == 0 => return Ok(0),
                BinaryOp::Or if l != 0 => return Ok(1),
                _ => {}
            }
            let r = eval(rhs, scope)?;
            let fail = |msg: &str| {
                Some(Diagnostic::new(Code::ConstEval, msg.to_string()).primary(*span, ""))
            };
            match op {
                BinaryOp::Mul => l
                    .checked_mul(r)
                    .ok_or_else(|| fail("multiplication overflows"))?,
                BinaryOp::Div | BinaryOp::Rem if r == 0 => {
                    return Err(Some(
                        Diagnostic::new(Code::ConstEval, "division by zero")
                            .primary(rhs.span(), "this is zero"),
                    ));
                }
                BinaryOp::Div => l / r,
                BinaryOp::Rem => l % r,
                BinaryOp::Add => l + r,
                BinaryOp::Sub => l - r,
                BinaryOp::Shl | BinaryOp::Shr => {
                    let Ok(shift @ 0..=63) = u32::try_from(r) else {
                        return Err(Some(
                            Diagnostic::new(
                                Code::ConstEval,
                                format!("shift by {r} bits is out of range 0..=63"),
                            )
                            .primary(rhs.span(), ""),
                        ));
                    };
                    if *op == BinaryOp::Shl {
                        l.checked_shl(shift)
                            .filter(|v| v >> shift == l)
                            .ok_or_else(|| fail("left shift overflows"))?
                    } else {
                        l >> shift
                    }
                }
                BinaryOp::Lt => i128::from(l < r),
                BinaryOp::Gt => i128::from(l > r),
                BinaryOp::Le => i128::from(l <= r),
                BinaryOp::Ge => i128::from(l >= r),
                BinaryOp::Eq => i128::from(l == r),
                BinaryOp::Ne => i128::from(l != r),
                BinaryOp::BitAnd => l & r,
                BinaryOp::BitXor => l ^ r,
                BinaryOp::BitOr => l | r,
                BinaryOp::And | BinaryOp::Or => i128::from(r != 0),
            }
        }
    };
    if (MIN_VALUE..=MAX_VALUE).contains(&value) {
        Ok(value)
    } else {
        Err(Some(
            Diagnostic::new(
                Code::ConstEval,
                format!("value {value} does not fit in 64 bits"),
            )
            .primary(expr.span(), "")
            .note("constants range from -2^63 (hyper) to 2^64-1 (unsigned hyper)"),
        ))
    }
}
