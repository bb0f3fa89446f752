// A zero-shot item's requests as lm-evaluation-harness builds them (its _encode_pair): a context's trailing spaces move
// to the front of the continuation; whole = encode(context + continuation) and ctx = encode(context) without special
// tokens; the continuation's tokens are whole[len(ctx):], so a token that straddles the boundary counts as the
// continuation's. The model later sees the last max_positions tokens of ctx + continuation, the last one not fed.
import { DatasetError } from '../errors.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';
import type { ZeroShotItem } from './zeroShotTasks.ts';

export interface Request {
  context: Uint32Array;
  continuation: Uint32Array;
}

export function encodePair(tok: TextTokenizer, context: string, continuation: string): Request {
  const spaces = context.length - context.trimEnd().length;
  if (spaces > 0) {
    continuation = context.slice(context.length - spaces) + continuation;
    context = context.slice(0, context.length - spaces);
  }
  // lm-eval feeds the end-of-text token for an empty context; no task here has one
  if (context === '') throw new DatasetError('a zero-shot request has an empty context');
  const whole = tok.encodePlain(context + continuation);
  const ctx = tok.encodePlain(context);
  const cont = whole.slice(ctx.length);
  if (cont.length === 0)
    throw new DatasetError(`the continuation "${continuation}" encodes to no tokens after its context`);
  return { context: whole.slice(0, ctx.length), continuation: cont };
}

/** One request per choice of an item. */
export function itemRequests(tok: TextTokenizer, item: ZeroShotItem): Request[] {
  return item.contexts.map((c, i) => encodePair(tok, c, item.continuations[i]));
}
