//! Spans and events as the runtime reports them, kept for a test to read:
//! a `tracing-subscriber` layer that records every closed span with its
//! final fields and every event with its fields and the fields of the
//! spans it happened in.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Field name to value (strings without quotes, the rest as `Debug`).
pub(crate) type Fields = BTreeMap<String, String>;

/// A span that closed.
#[derive(Clone, Debug)]
pub(crate) struct ClosedSpan {
    pub(crate) name: &'static str,
    pub(crate) fields: Fields,
}

/// An event.
#[derive(Clone, Debug)]
pub(crate) struct SeenEvent {
    pub(crate) level: Level,
    /// The `message` field.
    pub(crate) message: String,
    pub(crate) fields: Fields,
    /// The fields of the spans around it, innermost first: no test asserts
    /// on them, but a failing wait prints them with the event.
    #[allow(dead_code)]
    pub(crate) spans: Vec<Fields>,
}

/// What a [`Capture`] has seen.
#[derive(Clone, Default)]
pub(crate) struct Captured {
    spans: Arc<Mutex<Vec<ClosedSpan>>>,
    events: Arc<Mutex<Vec<SeenEvent>>>,
}

impl Captured {
    pub(crate) fn spans(&self) -> Vec<ClosedSpan> {
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn events(&self) -> Vec<SeenEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Closed spans named `name` whose `otel.kind` is `kind`.
    pub(crate) fn calls(&self, name: &str, kind: &str) -> Vec<Fields> {
        self.spans()
            .into_iter()
            .filter(|s| {
                s.name == name && s.fields.get("otel.kind").map(String::as_str) == Some(kind)
            })
            .map(|s| s.fields)
            .collect()
    }

    /// Events whose message contains `text`.
    pub(crate) fn events_saying(&self, text: &str) -> Vec<SeenEvent> {
        self.events()
            .into_iter()
            .filter(|e| e.message.contains(text))
            .collect()
    }

    /// Waits (yielding to the runtime, at most 30 s) until an event
    /// saying `text` has been seen, and returns it; the runtime reports
    /// connection-level failures from its own tasks.
    pub(crate) async fn wait_for_event(&self, text: &str) -> SeenEvent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(e) = self.events_saying(text).pop() {
                return e;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no event saying {text:?} in 30 s; events: {:#?}",
                self.events()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits (at most 30 s) until `count` spans named `name` of `kind`
    /// have closed.
    pub(crate) async fn wait_for_calls(&self, name: &str, kind: &str, count: usize) -> Vec<Fields> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let calls = self.calls(name, kind);
            if calls.len() >= count {
                return calls;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} {kind} spans named {name} in 30 s, not {count}: {:#?}",
                calls.len(),
                self.spans()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A subscriber (everything, DEBUG and up) recording into `captured`.
pub(crate) fn subscriber(captured: &Captured) -> impl Subscriber + Send + Sync {
    keep_callsites_open();
    tracing_subscriber::registry().with(Capture(captured.clone()))
}

/// A subscriber alive for the rest of the run, interested in everything.
static ALWAYS_INTERESTED: LazyLock<Dispatch> =
    LazyLock::new(|| Dispatch::new(tracing_subscriber::registry()));

/// Call before a test sets a thread's subscriber. tracing caches whether
/// each callsite is enabled, and while only one subscriber exists it asks
/// only the thread that reaches the callsite first: a test on another
/// thread, with no subscriber, would switch the callsite off for the
/// whole process. With a second subscriber alive, tracing asks every
/// one, and this one always says yes.
pub(crate) fn keep_callsites_open() {
    LazyLock::force(&ALWAYS_INTERESTED);
}

/// A subscriber printing each event on stdout as one line, `EVENT LEVEL
/// message field=value ...` (a child process reporting to its parent).
pub(crate) fn printing_subscriber() -> impl Subscriber + Send + Sync {
    tracing_subscriber::registry().with(Print)
}

struct Print;

impl<S: Subscriber> Layer<S> for Print {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut Recorder(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        let rest: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "EVENT {} {message} {}",
            event.metadata().level(),
            rest.join(" ")
        );
    }
}

struct Capture(Captured);

/// A span's fields so far, kept in its extensions.
struct SpanFields(Fields);

struct Recorder<'a>(&'a mut Fields);

impl Visit for Recorder<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut Recorder(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<SpanFields>() {
                values.record(&mut Recorder(&mut fields.0));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut Recorder(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        let spans = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .filter_map(|span| span.extensions().get::<SpanFields>().map(|f| f.0.clone()))
                    .collect()
            })
            .unwrap_or_default();
        self.0
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(SeenEvent {
                level: *event.metadata().level(),
                message,
                fields,
                spans,
            });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let fields = span
            .extensions()
            .get::<SpanFields>()
            .map(|f| f.0.clone())
            .unwrap_or_default();
        self.0
            .spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ClosedSpan {
                name: span.name(),
                fields,
            });
    }
}
