// Realistic OpenAI chat.completion.chunk streams (as sent with stream_options.include_usage: every chunk has
// "usage":null, then a usage chunk with "choices":[] and data: [DONE]); ~260 bytes per event.

export interface StreamOptions {
  tokens: number;
  model?: string;
  /** Add the final usage chunk (default true). */
  usage?: boolean;
  /** Line ending (default "\n"). */
  eol?: string;
  /** "data: " (default) or "data:". */
  prefix?: string;
  promptTokens?: number;
  cachedTokens?: number;
  reasoningTokens?: number;
}

const WORDS = [
  "The",
  " quick",
  " brown",
  " fox",
  " jumps",
  " over",
  " the",
  " lazy",
  " dog",
  ",",
  " and",
  " then",
  " it",
  " runs",
  " away",
  " into",
  " a",
  " dense",
  " forest",
  " full",
  " of",
  ' "quoted"',
  " émoji ✓",
  " tokens",
  ".\\n",
];

export function chatStreamEvents(o: StreamOptions): string[] {
  const model = o.model ?? "gpt-4o-2024-08-06";
  const head =
    `{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741569952,` +
    `"model":${JSON.stringify(model)},"service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":`;
  const events: string[] = [];
  events.push(head + `[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`);
  for (let i = 0; i < o.tokens; i++) {
    const word = WORDS[i % WORDS.length];
    events.push(head + `[{"index":0,"delta":{"content":"${word}"},"logprobs":null,"finish_reason":null}],"usage":null}`);
  }
  events.push(head + `[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`);
  if (o.usage ?? true) {
    const prompt = o.promptTokens ?? 19;
    events.push(
      head +
        `[],"usage":{"prompt_tokens":${prompt},"completion_tokens":${o.tokens},"total_tokens":${prompt + o.tokens},` +
        `"prompt_tokens_details":{"cached_tokens":${o.cachedTokens ?? 0},"audio_tokens":0},` +
        `"completion_tokens_details":{"reasoning_tokens":${o.reasoningTokens ?? 0},"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`,
    );
  }
  events.push("[DONE]");
  const eol = o.eol ?? "\n";
  const prefix = o.prefix ?? "data: ";
  return events.map((e) => `${prefix}${e}${eol}${eol}`);
}

export function chatStream(o: StreamOptions): string {
  return chatStreamEvents(o).join("");
}
