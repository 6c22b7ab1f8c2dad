// The simulator's tokenizer: a word (letters, digits, underscore) or a single other non-space character is
// one token, like llm-d-inference-sim's regex tokenizer. Each token keeps the whitespace before it, so the
// tokens of a text join back into exactly that text and a streamed token carries its own leading space.

const TOKEN = /\s*(?:[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_])/gu;

export function tokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}
