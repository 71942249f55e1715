//! The check any function gets before it has one of its own: it starts, takes its fixture and
//! answers JSON (not an invocation error, not an init error, not a crash).

use super::{Case, Ctx, Verdict, timing};
use crate::fixture::Fresh;

pub async fn responds(ctx: &Ctx, case: &Case) -> Verdict {
    let fresh = Fresh::new();
    let inv = ctx.invoke(case.function, &case.event(&fresh)?, &[]).await?;
    let r = inv.response()?;
    Ok(format!(
        "answered {} bytes of JSON; {}",
        r.to_string().len(),
        timing(&inv)
    ))
}
