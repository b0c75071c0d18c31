//! The facts of a session that a transcript's header and a history listing (`log`,
//! `summary`) show beside its title: agents, models, tokens, cost, how long it ran and what
//! it was first asked. One home for the rules, so that every view agrees.

use super::{distinct, message_info, message_model, model_name, Tokens};
use serde_json::Value;

/// What a session's export document says about its run.
#[derive(Default)]
pub struct Facts {
    /// The agents, in first-seen order (`info.agent` when the session records one).
    pub agents: Vec<String>,
    /// `provider/model` of the models, in first-seen order (`info.model` when recorded).
    pub models: Vec<String>,
    /// The session's cost in dollars; `None` when nothing records one.
    pub cost: Option<f64>,
    /// The token totals; `None` when nothing records any.
    pub tokens: Option<Tokens>,
    /// From the first message's creation to the last message's completion, in ms.
    pub duration_ms: Option<i64>,
    /// The text of the first user message, when it has any.
    pub first_prompt: Option<String>,
}

impl Facts {
    /// The facts of the export document `doc` (1.x `{info, messages:[{info, parts}]}` or
    /// 2.x flat messages).
    pub fn of(doc: &Value) -> Facts {
        let messages: &[Value] = doc["messages"].as_array().map_or(&[], Vec::as_slice);
        Facts::of_parts(&doc["info"], messages)
    }

    pub(super) fn of_parts(info: &Value, messages: &[Value]) -> Facts {
        let agents = match info["agent"].as_str() {
            Some(agent) => vec![agent.to_owned()],
            None => distinct(messages.iter().filter_map(|m| {
                let i = message_info(m);
                i["agent"].as_str().or(i["mode"].as_str()).map(String::from)
            })),
        };
        let models = match model_name(&info["model"]) {
            Some(model) => vec![model],
            None => distinct(
                messages
                    .iter()
                    .filter_map(|m| message_model(message_info(m))),
            ),
        };
        let assistants = || {
            messages
                .iter()
                .filter(|m| m["info"]["role"] == "assistant" || m["type"] == "assistant")
                .map(message_info)
        };
        // Sessions of OpenCode ≤ 1.1 have no totals: sum their assistant messages.
        let costs: Vec<f64> = match info["cost"].as_f64() {
            Some(cost) => vec![cost],
            None => assistants().filter_map(|i| i["cost"].as_f64()).collect(),
        };
        // `+ 0.0` turns the `-0.0` of an all-zero sum into `0`.
        let cost = (!costs.is_empty()).then(|| costs.iter().sum::<f64>() + 0.0);
        let tokens: Vec<Tokens> = if info["tokens"].is_object() {
            vec![Tokens::of(&info["tokens"])]
        } else {
            assistants()
                .filter(|i| i["tokens"].is_object())
                .map(|i| Tokens::of(&i["tokens"]))
                .collect()
        };
        let tokens =
            (!tokens.is_empty()).then(|| tokens.iter().fold(Tokens::default(), |t, o| t.plus(o)));
        Facts {
            agents,
            models,
            cost,
            tokens,
            duration_ms: duration(messages),
            first_prompt: first_prompt(messages),
        }
    }
}

/// The span of the messages' times: earliest creation to latest completion (or creation).
fn duration(messages: &[Value]) -> Option<i64> {
    let mut start: Option<i64> = None;
    let mut end: Option<i64> = None;
    for m in messages {
        let time = &message_info(m)["time"];
        let Some(created) = time["created"].as_i64() else {
            continue;
        };
        let last = time["completed"].as_i64().unwrap_or(created).max(created);
        start = Some(start.map_or(created, |s| s.min(created)));
        end = Some(end.map_or(last, |e| e.max(last)));
    }
    Some(end? - start?)
}

/// What the user first typed: the text parts of the first user message (1.x), leaving out
/// the synthetic ones OpenCode adds (an attached file's content), or its `text` (2.x).
fn first_prompt(messages: &[Value]) -> Option<String> {
    let user = messages
        .iter()
        .find(|m| m["info"]["role"] == "user" || m["type"] == "user")?;
    let text = match user["parts"].as_array() {
        Some(parts) => parts
            .iter()
            .filter(|p| p["type"] == "text" && p["synthetic"] != true && p["ignored"] != true)
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        None => user["text"].as_str().unwrap_or_default().to_owned(),
    };
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::Facts;
    use serde_json::json;

    #[test]
    fn one_x_messages_are_summed_and_timed() {
        let doc = json!({
            "info": {"id": "ses_1"},
            "messages": [
                {"info": {"role": "user", "time": {"created": 1000}, "agent": "build"},
                 "parts": [{"type": "text", "text": "file body", "synthetic": true},
                           {"type": "text", "text": "fix the bug"}]},
                {"info": {"role": "assistant", "time": {"created": 2000, "completed": 9000},
                          "mode": "build", "providerID": "mock", "modelID": "mock-1",
                          "cost": 0.5, "tokens": {"input": 10, "output": 5, "reasoning": 1,
                                                   "cache": {"read": 2, "write": 0}}},
                 "parts": []},
                {"info": {"role": "assistant", "time": {"created": 9500, "completed": 12000},
                          "mode": "plan", "providerID": "mock", "modelID": "mock-1",
                          "cost": 0.25, "tokens": {"input": 1, "output": 1}},
                 "parts": []}
            ]
        });
        let facts = Facts::of(&doc);
        assert_eq!(facts.agents, ["build", "plan"]);
        assert_eq!(facts.models, ["mock/mock-1"]);
        assert_eq!(facts.cost, Some(0.75));
        assert_eq!(facts.tokens.as_ref().map(|t| t.total()), Some(20.0));
        assert_eq!(facts.duration_ms, Some(11_000));
        assert_eq!(facts.first_prompt.as_deref(), Some("fix the bug"));
    }

    #[test]
    fn two_x_session_totals_win_over_messages() {
        let doc = json!({
            "info": {"id": "ses_2", "agent": "build", "model": {"id": "m", "providerID": "p"},
                     "cost": 1.5, "tokens": {"input": 100, "output": 20}},
            "messages": [
                {"type": "user", "text": "  héllo 🎉  ", "time": {"created": 5}},
                {"type": "assistant", "cost": 9.0, "time": {"created": 6, "completed": 50}}
            ]
        });
        let facts = Facts::of(&doc);
        assert_eq!(facts.agents, ["build"]);
        assert_eq!(facts.models, ["p/m"]);
        assert_eq!(facts.cost, Some(1.5));
        assert_eq!(facts.tokens.as_ref().map(|t| t.total()), Some(120.0));
        assert_eq!(facts.duration_ms, Some(45));
        assert_eq!(facts.first_prompt.as_deref(), Some("héllo 🎉"));
    }

    #[test]
    fn an_empty_session_has_no_facts() {
        let facts = Facts::of(&json!({"info": {}, "messages": []}));
        assert!(facts.agents.is_empty() && facts.models.is_empty());
        assert!(facts.cost.is_none() && facts.tokens.is_none());
        assert!(facts.duration_ms.is_none() && facts.first_prompt.is_none());
    }
}
