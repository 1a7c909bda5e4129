//! Generation through any OpenAI-compatible chat-completions endpoint (OpenAI, or a
//! vLLM / llama.cpp / Ollama server), always streamed: each piece of text is handed to
//! the caller as it arrives, and the whole answer with its token usage comes back at
//! the end. 429, 5xx, timeouts and refused connections are retried with backoff as
//! long as nothing was streamed yet; a circuit breaker stops calling an endpoint that
//! keeps failing. Any failure leaves the caller to answer from the courses.

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

async fn stream_with_retries(
    client: &reqwest::Client,
    settings: &ModelSettings,
    messages: &[Value],
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, ModelError> {
    let url = format!(
        "{}/chat/completions",
        settings.base_url.trim_end_matches('/')
    );
    let body = json!({
        "model": settings.model,
        "messages": messages,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        let mut request = client.post(&url).json(&body);
        if let Some(key) = &settings.api_key {
            use secrecy::ExposeSecret;
            request = request.bearer_auth(key.expose_secret());
        }
        let error = match tokio::time::timeout(settings.timeout, request.send()).await {
            Err(_) => ModelError::Timeout,
            Ok(Err(_)) => ModelError::Unreachable,
            Ok(Ok(response)) if response.status().is_success() => {
                return read_stream(response, settings.timeout, started, messages, on_text).await;
            }
            Ok(Ok(response)) => ModelError::Status(response.status().as_u16()),
        };
        if !error.retryable() || attempt >= settings.retries {
            return Err(error);
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
    }
}

/// Reads server-sent events (`data: {chunk}` lines, then `data: [DONE]`).
async fn read_stream(
    response: reqwest::Response,
    idle: Duration,
    started: Instant,
    messages: &[Value],
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Completion, ModelError> {
    let mut completion = Completion::default();
    let mut bytes = response.bytes_stream();
    let mut pending: Vec<u8> = Vec::new();
    let mut pieces = 0u64;
    let mut usage_seen = false;
    loop {
        let chunk = match tokio::time::timeout(idle, bytes.next()).await {
            Err(_) if completion.text.is_empty() => return Err(ModelError::Timeout),
            Err(_) | Ok(Some(Err(_))) | Ok(None) => {
                return Err(ModelError::Broken(completion.text.chars().count()));
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let Some(data) = line.trim().strip_prefix("data:") else {
                continue;
            };
            let data = data.trim();
            if data == "[DONE]" {
                if !usage_seen {
                    // Servers that do not report usage: about 4 characters a token.
                    completion.prompt_tokens = messages
                        .iter()
                        .map(|m| m["content"].as_str().map_or(0, str::len) as u64 / 4)
                        .sum();
                    completion.completion_tokens = pieces;
                }
                completion.text = completion.text.trim().to_owned();
                return Ok(completion);
            }
            let value: Value = serde_json::from_str(data).map_err(|_| ModelError::Malformed)?;
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
    }
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
