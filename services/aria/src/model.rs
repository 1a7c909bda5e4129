//! Generation through any OpenAI-compatible chat-completions endpoint (OpenAI, or a
//! vLLM / llama.cpp / Ollama server), always streamed: each piece of text is handed to
//! the caller as it arrives, and the whole answer with its token usage comes back at
//! the end. 429, 5xx, timeouts and refused connections are retried with backoff as
//! long as nothing was streamed yet; a circuit breaker stops calling an endpoint that
//! keeps failing. Any failure leaves the caller to answer from the courses.
//!
//! The HTTP call, the authentication and the server-sent events go through the
//! `async-openai` crate, with its "bring your own types" calls: OpenAI-compatible
//! servers do not all send OpenAI's exact chunk shape (llama.cpp, vLLM and the tests'
//! stand-ins leave out `id`, `created`, `object`…), which the crate's own types
//! refuse, so requests and chunks are JSON values read leniently here.

use std::{
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
    time::{Duration, Instant},
};

use futures::StreamExt;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct ModelSettings {
    /// e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub api_key: Option<secrecy::SecretString>,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: u32,
    /// How long to wait for the answer to start, and then between two pieces of it.
    pub timeout: Duration,
    pub retries: u32,
}

#[derive(Debug, Default)]
pub struct Completion {
    pub text: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// From the request to the first piece of text.
    pub first_token: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model endpoint timed out")]
    Timeout,
    #[error("the model endpoint answered {0}")]
    Status(u16),
    #[error("the model endpoint is unreachable")]
    Unreachable,
    #[error("the model's answer was unreadable")]
    Malformed,
    #[error("the model's stream broke off after {0} characters")]
    Broken(usize),
    #[error("the model endpoint failed repeatedly; not called for a while")]
    CircuitOpen,
}

impl ModelError {
    /// The `outcome` label of `aria_model_requests_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            ModelError::Timeout => "timeout",
            ModelError::CircuitOpen => "circuit_open",
            _ => "error",
        }
    }

    fn retryable(&self) -> bool {
        match self {
            ModelError::Status(status) => *status == 429 || *status >= 500,
            ModelError::Timeout | ModelError::Unreachable => true,
            _ => false,
        }
    }
}

/// Stops calling the model after `threshold` failed calls in a row (each after its
/// retries) for `cooldown`; then lets calls through again, and one more failure opens
/// it again at once. Per process: each replica judges the endpoint by what it sees.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: AtomicU32,
    /// Milliseconds since `epoch` until which the breaker is open.
    open_until: AtomicU64,
    epoch: Instant,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub fn allows(&self) -> bool {
        self.now() >= self.open_until.load(Ordering::Relaxed)
    }

    pub fn succeeded(&self) {
        self.failures.store(0, Ordering::Relaxed);
    }

    pub fn failed(&self) {
        if self.failures.fetch_add(1, Ordering::Relaxed) + 1 >= self.threshold {
            self.open_until.store(
                self.now() + self.cooldown.as_millis() as u64,
                Ordering::Relaxed,
            );
        }
    }
}

/// Streams a chat completion: `on_text` receives each piece as it arrives.
pub async fn stream(
    client: &reqwest::Client,
    settings: &ModelSettings,
    breaker: &Breaker,
    messages: &[Value],
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, ModelError> {
    if !breaker.allows() {
        return Err(ModelError::CircuitOpen);
    }
    let outcome = stream_with_retries(client, settings, messages, on_text).await;
    match &outcome {
        Ok(_) => breaker.succeeded(),
        // The request itself was refused: the endpoint is up.
        Err(ModelError::Status(status)) if *status != 429 && *status < 500 => {}
        Err(_) => breaker.failed(),
    }
    outcome
}

/// A client of the `async-openai` crate for an OpenAI-compatible endpoint, on the
/// service's HTTP client. Without an API key no `Authorization` header is sent
/// (local servers need none; the crate's own configuration always sends one). The
/// crate's default executor retries 429, 5xx and refused connections 3 times by
/// itself: ARIA sends through the plain `ReqwestService` instead, so that its own
/// retries (before anything is streamed), backoff and circuit breaker stay the only
/// ones (with the crate's, one question made 9 calls to a failing model instead of 3).
pub fn openai_client(
    http: &reqwest::Client,
    base_url: &str,
    api_key: Option<&secrecy::SecretString>,
) -> async_openai::Client<Provider> {
    async_openai::Client::build(
        http.clone(),
        Provider {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key
                .cloned()
                .unwrap_or_else(|| secrecy::SecretString::from(String::new())),
        },
    )
    .with_http_service(async_openai::middleware::ReqwestService::new(http.clone()))
}

/// The crate's configuration for an OpenAI-compatible endpoint.
#[derive(Clone)]
pub struct Provider {
    base_url: String,
    api_key: secrecy::SecretString,
}

impl async_openai::config::Config for Provider {
    fn headers(&self) -> reqwest::header::HeaderMap {
        use secrecy::ExposeSecret;
        let mut headers = reqwest::header::HeaderMap::new();
        let key = self.api_key.expose_secret();
        if !key.is_empty()
            && let Ok(mut value) = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
        {
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        headers
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn query(&self) -> Vec<(&str, &str)> {
        Vec::new()
    }

    fn api_base(&self) -> &str {
        &self.base_url
    }

    fn api_key(&self) -> &secrecy::SecretString {
        &self.api_key
    }
}

/// What the crate's error means for retries and the breaker.
fn model_error(error: async_openai::error::OpenAIError) -> ModelError {
    use async_openai::error::OpenAIError;
    match error {
        OpenAIError::ApiError(e) => ModelError::Status(e.status_code.as_u16()),
        OpenAIError::Reqwest(e) if e.is_timeout() => ModelError::Timeout,
        OpenAIError::Reqwest(e) => match e.status() {
            Some(status) => ModelError::Status(status.as_u16()),
            None => ModelError::Unreachable,
        },
        OpenAIError::JSONDeserialize(..) => ModelError::Malformed,
        _ => ModelError::Unreachable,
    }
}

async fn stream_with_retries(
    client: &reqwest::Client,
    settings: &ModelSettings,
    messages: &[Value],
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, ModelError> {
    let openai = openai_client(client, &settings.base_url, settings.api_key.as_ref());
    let body = json!({
        "model": settings.model,
        "messages": messages,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    let started = Instant::now();
    let chat = openai.chat();
    let mut attempt = 0;
    loop {
        let call = chat.create_stream_byot::<_, Value>(body.clone());
        let error = match tokio::time::timeout(settings.timeout, call).await {
            Err(_) => ModelError::Timeout,
            Ok(Err(error)) => model_error(error),
            Ok(Ok(chunks)) => {
                return read_stream(chunks, settings.timeout, started, messages, on_text).await;
            }
        };
        if !error.retryable() || attempt >= settings.retries {
            return Err(error);
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
    }
}

/// Reads the chunks the crate parsed from the server-sent events (it ends the stream
/// at `data: [DONE]`).
async fn read_stream(
    mut chunks: async_openai::types::stream::StreamResponse<Value>,
    idle: Duration,
    started: Instant,
    messages: &[Value],
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, ModelError> {
    let mut completion = Completion::default();
    let mut pieces = 0u64;
    let mut usage_seen = false;
    loop {
        let value = match tokio::time::timeout(idle, chunks.next()).await {
            Err(_) if completion.text.is_empty() => return Err(ModelError::Timeout),
            Err(_) => return Err(ModelError::Broken(completion.text.chars().count())),
            Ok(Some(Err(async_openai::error::OpenAIError::JSONDeserialize(..)))) => {
                return Err(ModelError::Malformed);
            }
            Ok(Some(Err(_))) => return Err(ModelError::Broken(completion.text.chars().count())),
            Ok(None) => break,
            Ok(Some(Ok(value))) => value,
        };
        if let Some(text) = value["choices"][0]["delta"]["content"].as_str()
            && !text.is_empty()
        {
            completion
                .first_token
                .get_or_insert_with(|| started.elapsed());
            pieces += 1;
            completion.text.push_str(text);
            on_text(text);
        }
        if let Some(usage) = value.get("usage").filter(|u| u.is_object()) {
            usage_seen = true;
            completion.prompt_tokens = usage["prompt_tokens"].as_u64().unwrap_or(0);
            completion.completion_tokens = usage["completion_tokens"].as_u64().unwrap_or(0);
        }
    }
    if !usage_seen {
        // Servers that do not report usage: about 4 characters a token.
        completion.prompt_tokens = messages
            .iter()
            .map(|m| m["content"].as_str().map_or(0, str::len) as u64 / 4)
            .sum();
        completion.completion_tokens = pieces;
    }
    completion.text = completion.text.trim().to_owned();
    Ok(completion)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_repeated_failures_and_closes_after_its_cooldown() {
        let breaker = Breaker::new(2, Duration::from_millis(50));
        assert!(breaker.allows());
        breaker.failed();
        assert!(breaker.allows(), "one failure is not enough");
        breaker.failed();
        assert!(!breaker.allows(), "two in a row open it");
        std::thread::sleep(Duration::from_millis(60));
        assert!(breaker.allows(), "half-open after the cooldown");
        breaker.failed();
        assert!(!breaker.allows(), "one more failure opens it again");
        std::thread::sleep(Duration::from_millis(60));
        breaker.succeeded();
        breaker.failed();
        assert!(breaker.allows(), "a success resets the count");
    }
}
