//! [`DomainEvents`]: domain lifecycle events from one registration.

use xdrgen_runtime::libvirt::{self as rt, EventReceiver};

use super::{Connect, Domain, Result};
use crate::constants::{DomainEventType, UnknownValue};
use crate::remote::RemoteConnectDomainEventCallbackDeregisterAnyArgs;
use crate::remote::remote_program::Event;

/// A domain started, stopped, was defined... (`virConnectDomainEventCallback`
/// of `VIR_DOMAIN_EVENT_ID_LIFECYCLE`).
#[derive(Clone, Debug)]
pub struct LifecycleEvent {
    /// The domain, as the event names it.
    pub domain: Domain,
    /// What happened (`virDomainEventType`); a type newer than this crate
    /// comes as [`UnknownValue`] with the raw value.
    pub event: Result<DomainEventType, UnknownValue>,
    /// The detail as sent: a value of the event type's own enum
    /// ([`DomainEventStoppedDetailType`](crate::constants::DomainEventStoppedDetailType)
    /// for `Stopped`, ...).
    pub detail: i32,
}

/// The lifecycle events of one registration
/// ([`Connect::domain_lifecycle_events`]), in the order the daemon sent
/// them. A receiver that falls more than the connection's event backlog
/// behind loses the oldest; [`missed`](DomainEvents::missed) counts them.
pub struct DomainEvents {
    connect: Connect,
    receiver: EventReceiver<Event>,
    callback_id: i32,
}

impl DomainEvents {
    pub(crate) fn new(
        connect: Connect,
        receiver: EventReceiver<Event>,
        callback_id: i32,
    ) -> DomainEvents {
        DomainEvents {
            connect,
            receiver,
            callback_id,
        }
    }

    /// The daemon's id for this registration.
    pub fn callback_id(&self) -> i32 {
        self.callback_id
    }

    /// Events lost because this receiver fell behind.
    pub fn missed(&self) -> u64 {
        self.receiver.missed()
    }

    /// The next lifecycle event of this registration. Fails when the
    /// connection closes.
    pub async fn recv(&mut self) -> Result<LifecycleEvent> {
        loop {
            // Other registrations' events (and the legacy event form,
            // which carries no callback id) are not this one's.
            if let Event::DomainEventCallbackLifecycle(message) = self.receiver.recv().await? {
                if message.callback_id != self.callback_id {
                    continue;
                }
                let msg = message.msg;
                return Ok(LifecycleEvent {
                    domain: Domain::new(self.connect.clone(), msg.dom),
                    event: DomainEventType::try_from(msg.event),
                    detail: msg.detail,
                });
            }
        }
    }

    /// Ends the registration (`virConnectDomainEventDeregisterAny`).
    pub async fn deregister(self) -> Result<()> {
        let args = RemoteConnectDomainEventCallbackDeregisterAnyArgs {
            callback_id: self.callback_id,
        };
        self.connect
            .client()
            .connect_domain_event_callback_deregister_any(&args)
            .await
            .map_err(rt::Error::into)
    }
}
