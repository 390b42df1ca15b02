//! Keyless credentials shared by every wait: exchanged before the first
//! poll, renewed when due, one exchange at a time.

use super::{ApiError, Client, ClientOptions};
use crate::api::credentials::Credentials;
use crate::api::endpoints::Endpoints;
use crate::api::federation::{self, ExchangeError, IdpConfig, Temporary};

/// What signs the requests.
pub(super) enum Auth {
    Static(Credentials),
    Idp(Box<Federated>),
}

/// Temporary credentials from an identity provider, shared by every wait.
pub(super) struct Federated {
    config: IdpConfig,
    /// The credentials in use; `None` only before the first exchange.
    current: std::sync::RwLock<Option<std::sync::Arc<Issued>>>,
    /// Held by the one exchange in progress: waits that find the
    /// credentials due for renewal queue here, and all but the first find
    /// them renewed.
    renewing: tokio::sync::Mutex<()>,
    /// Told the secret values of every renewal before they sign a request.
    on_renewal: Option<SecretsHook>,
}

/// Receives the secret values of renewed credentials (so that outputs
/// redact and mask them from the moment they exist).
pub(crate) type SecretsHook = Box<dyn Fn(&[&str]) + Send + Sync>;

/// One exchange's credentials.
pub(super) struct Issued {
    temporary: Temporary,
    generation: u64,
}

impl Client {
    /// Calls `hook` with the secret values of every renewal of keyless
    /// credentials (static credentials are never renewed).
    pub(crate) fn on_renewal(&mut self, hook: SecretsHook) {
        if let Auth::Idp(federated) = &mut self.auth {
            federated.on_renewal = Some(hook);
        }
    }

    /// A client whose credentials come from exchanging the ID token of
    /// `config` at IAM; call [`Client::exchange`] before the first request.
    /// `iam_loopback` says whether IAM is on this machine (then, with every
    /// other endpoint on loopback too, no proxy is used).
    pub(crate) fn with_idp(
        endpoints: Endpoints,
        config: IdpConfig,
        iam_loopback: bool,
        options: &ClientOptions,
    ) -> Result<Self, String> {
        let federated = Federated {
            config,
            current: std::sync::RwLock::new(None),
            renewing: tokio::sync::Mutex::new(()),
            on_renewal: None,
        };
        Self::build(
            endpoints,
            Auth::Idp(Box::new(federated)),
            options,
            iam_loopback,
        )
    }

    /// Exchanges the ID token for temporary credentials (now, before the
    /// first poll) and returns their secret values, for redaction. With
    /// fixed credentials, returns nothing.
    pub(crate) async fn exchange(&self) -> Result<Vec<String>, ExchangeError> {
        let Auth::Idp(federated) = &self.auth else {
            return Ok(Vec::new());
        };
        let issued = self.renew(federated, None).await?;
        Ok(issued
            .temporary
            .secrets()
            .into_iter()
            .map(str::to_owned)
            .collect())
    }

    /// Renews the credentials unless another caller already replaced the
    /// generation `stale` (or, with `stale = None`, unless they are current
    /// and not due). One exchange at a time.
    async fn renew(
        &self,
        federated: &Federated,
        stale: Option<u64>,
    ) -> Result<std::sync::Arc<Issued>, ExchangeError> {
        let _one_at_a_time = federated.renewing.lock().await;
        let current = federated
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(current) = current {
            let replaced = stale.is_some_and(|g| g != current.generation);
            let fresh = stale.is_none()
                && !federation::renew_due(
                    current.temporary.obtained_at,
                    current.temporary.expires_at,
                    jiff::Timestamp::now(),
                );
            if replaced || fresh {
                return Ok(current);
            }
        }
        let temporary = federation::exchange(&self.http, &federated.config).await?;
        if let Some(hook) = &federated.on_renewal {
            hook(&temporary.secrets());
        }
        let mut slot = federated.current.write().unwrap_or_else(|e| e.into_inner());
        let generation = slot.as_ref().map_or(0, |c| c.generation + 1);
        let issued = std::sync::Arc::new(Issued {
            temporary,
            generation,
        });
        *slot = Some(issued.clone());
        Ok(issued)
    }

    /// The credentials for the next request, renewed first when due.
    pub(super) async fn credentials(&self) -> Result<(Credentials, Option<u64>), ApiError> {
        let federated = match &self.auth {
            Auth::Static(credentials) => return Ok((credentials.clone(), None)),
            Auth::Idp(federated) => federated,
        };
        let current = federated
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let issued = match current {
            Some(c)
                if !federation::renew_due(
                    c.temporary.obtained_at,
                    c.temporary.expires_at,
                    jiff::Timestamp::now(),
                ) =>
            {
                c
            }
            current => match self.renew(federated, None).await {
                Ok(issued) => issued,
                // IAM briefly unavailable while the credentials in hand are
                // still valid: use them; the next request tries again.
                Err(e)
                    if e.is_transient()
                        && let Some(c) = current
                        && jiff::Timestamp::now() < c.temporary.expires_at =>
                {
                    c
                }
                Err(e) => return Err(e.into()),
            },
        };
        Ok((
            issued.temporary.credentials.clone(),
            Some(issued.generation),
        ))
    }

    /// Credentials to replace generation `stale`, which the gateway refused:
    /// renewed, unless another wait already did.
    pub(super) async fn replace(
        &self,
        federated: &Federated,
        stale: u64,
    ) -> Result<Credentials, ApiError> {
        let issued = self.renew(federated, Some(stale)).await?;
        Ok(issued.temporary.credentials.clone())
    }
}
