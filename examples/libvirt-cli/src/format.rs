//! virsh's words and layouts: state and event names, the table `list`
//! prints, event timestamps.

use std::fmt::Write as _;
use std::time::SystemTime;

use xdrgen_libvirt::constants::{DomainEventType, DomainState, UnknownValue};

/// A domain state as virsh names it (`virshDomainStateToString`).
pub fn state_name(state: Result<DomainState, UnknownValue>) -> &'static str {
    match state {
        Ok(DomainState::Running) => "running",
        Ok(DomainState::Blocked) => "idle",
        Ok(DomainState::Paused) => "paused",
        Ok(DomainState::Shutdown) => "in shutdown",
        Ok(DomainState::Shutoff) => "shut off",
        Ok(DomainState::Crashed) => "crashed",
        Ok(DomainState::Pmsuspended) => "pmsuspended",
        _ => "no state",
    }
}

/// A lifecycle event type as `virsh event` names it.
pub fn event_type_name(event: Result<DomainEventType, UnknownValue>) -> &'static str {
    match event {
        Ok(DomainEventType::Defined) => "Defined",
        Ok(DomainEventType::Undefined) => "Undefined",
        Ok(DomainEventType::Started) => "Started",
        Ok(DomainEventType::Suspended) => "Suspended",
        Ok(DomainEventType::Resumed) => "Resumed",
        Ok(DomainEventType::Stopped) => "Stopped",
        Ok(DomainEventType::Shutdown) => "Shutdown",
        Ok(DomainEventType::Pmsuspended) => "PMSuspended",
        Ok(DomainEventType::Crashed) => "Crashed",
        _ => "unknown",
    }
}

/// A lifecycle event's detail as `virsh event` names it: the detail
/// values are per event type (`virDomainEvent<Type>DetailType`), in
/// value order here.
pub fn event_detail_name(
    event: Result<DomainEventType, UnknownValue>,
    detail: i32,
) -> &'static str {
    let names: &[&str] = match event {
        Ok(DomainEventType::Defined) => &["Added", "Updated", "Renamed", "Snapshot"],
        Ok(DomainEventType::Undefined) => &["Removed", "Renamed"],
        Ok(DomainEventType::Started) => {
            &["Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"]
        }
        Ok(DomainEventType::Suspended) => &[
            "Paused",
            "Migrated",
            "I/O Error",
            "Watchdog",
            "Restored",
            "Snapshot",
            "API error",
            "Post-copy",
            "Post-copy Error",
        ],
        Ok(DomainEventType::Resumed) => &[
            "Unpaused",
            "Migrated",
            "Snapshot",
            "Post-copy",
            "Post-copy Error",
        ],
        Ok(DomainEventType::Stopped) => &[
            "Shutdown",
            "Destroyed",
            "Crashed",
            "Migrated",
            "Saved",
            "Failed",
            "Snapshot",
        ],
        Ok(DomainEventType::Shutdown) => &[
            "Finished",
            "Finished after guest request",
            "Finished after host request",
        ],
        Ok(DomainEventType::Pmsuspended) => &["Memory", "Disk"],
        Ok(DomainEventType::Crashed) => &["Core Dumped"],
        _ => &[],
    };
    usize::try_from(detail)
        .ok()
        .and_then(|i| names.get(i))
        .copied()
        .unwrap_or("unknown")
}

/// virsh's table: a leading space, columns padded to their widest cell
/// and three spaces apart (the last one unpadded), a dash rule under the
/// header.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::from(" ");
        let mut cells = cells.zip(&widths).peekable();
        while let Some((cell, &width)) = cells.next() {
            if cells.peek().is_some() {
                let pad = width - cell.chars().count();
                let _ = write!(text, "{cell}{:pad$}   ", "");
            } else {
                text.push_str(cell);
            }
        }
        text.push('\n');
        text
    };
    let mut out = line(&mut header.iter().copied());
    let rule = widths.iter().sum::<usize>() + 3 * widths.len();
    out.push_str(&"-".repeat(rule));
    out.push('\n');
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS.mmm+0000`, virsh's event timestamp, in UTC.
pub(crate) fn timestamp(at: SystemTime) -> String {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let days = secs / 86_400;
    let (year, month, day) = civil_from_days(days);
    let rest = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}+0000",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// The date `days` after 1970-01-01 (Howard Hinnant's civil calendar
/// algorithm, days since the epoch to year, month, day).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_laid_out_as_virsh_lays_it_out() {
        // Two of virsh's own outputs, byte for byte.
        let rows = vec![vec![
            "1".to_string(),
            "test".to_string(),
            "running".to_string(),
        ]];
        assert_eq!(
            table(&["Id", "Name", "State"], &rows),
            " Id   Name   State\n----------------------\n 1    test   running\n"
        );
        let rows = vec![
            vec!["1".to_string(), "test".to_string(), "running".to_string()],
            vec![
                "-".to_string(),
                "l2-probe-longer-name".to_string(),
                "shut off".to_string(),
            ],
        ];
        assert_eq!(
            table(&["Id", "Name", "State"], &rows),
            " Id   Name                   State\n\
             ---------------------------------------\n \
             1    test                   running\n \
             -    l2-probe-longer-name   shut off\n"
        );
        assert_eq!(
            table(&["Id", "Name", "State"], &[]),
            " Id   Name   State\n--------------------\n"
        );
    }

    #[test]
    fn timestamps_are_utc_dates() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_764_720_000_123);
        assert_eq!(timestamp(at), "2025-12-03 00:00:00.123+0000");
        assert_eq!(
            timestamp(SystemTime::UNIX_EPOCH),
            "1970-01-01 00:00:00.000+0000"
        );
    }

    #[test]
    fn unknown_values_have_names_too() {
        assert_eq!(state_name(DomainState::try_from(5)), "shut off");
        assert_eq!(state_name(DomainState::try_from(99)), "no state");
        assert_eq!(event_type_name(DomainEventType::try_from(42)), "unknown");
        let stopped = DomainEventType::try_from(5);
        assert_eq!(event_detail_name(stopped, 1), "Destroyed");
        assert_eq!(event_detail_name(stopped, -1), "unknown");
        assert_eq!(
            event_detail_name(DomainEventType::try_from(42), 0),
            "unknown"
        );
    }
}
