//! Generation through any OpenAI-compatible chat-completions endpoint (OpenAI, or a
//! vLLM / llama.cpp / Ollama server): the question, the retrieved course passages and
//! the recent exchange in; the answer and its token usage out. Retries 429 and 5xx with
//! backoff; any failure leaves the caller to answer extractively.

use std::time::Duration;

use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct ModelSettings {
    /// e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub api_key: Option<secrecy::SecretString>,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: u32,
    pub timeout: Duration,
    pub retries: u32,
}

#[derive(Debug)]
pub struct Completion {
    pub text: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
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
}

impl ModelError {
    pub fn outcome(&self) -> &'static str {
        match self {
            ModelError::Timeout => "timeout",
            _ => "error",
        }
    }
}

pub async fn complete(
    client: &reqwest::Client,
    settings: &ModelSettings,
    messages: &[Value],
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
    });
    let mut attempt = 0;
    loop {
        let mut request = client.post(&url).timeout(settings.timeout).json(&body);
        if let Some(key) = &settings.api_key {
            use secrecy::ExposeSecret;
            request = request.bearer_auth(key.expose_secret());
        }
        let error = match request.send().await {
            Ok(response) if response.status().is_success() => {
                let value: Value = response.json().await.map_err(|_| ModelError::Malformed)?;
                let text = value["choices"][0]["message"]["content"]
                    .as_str()
                    .ok_or(ModelError::Malformed)?;
                return Ok(Completion {
                    text: text.trim().to_owned(),
                    prompt_tokens: value["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
                    completion_tokens: value["usage"]["completion_tokens"].as_u64().unwrap_or(0),
                });
            }
            Ok(response) => {
                let status = response.status().as_u16();
                if status != 429 && status < 500 {
                    return Err(ModelError::Status(status));
                }
                ModelError::Status(status)
            }
            Err(e) if e.is_timeout() => ModelError::Timeout,
            Err(_) => ModelError::Unreachable,
        };
        if attempt >= settings.retries {
            return Err(error);
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
    }
}
