/**
 * The pre-warm queue's message: one image, and what to render for it. Sent by `npm run prewarm
 * -- --queue`, and by the IIIF function when it defers a render too long for a request.
 */
export interface PrewarmMessage {
  readonly identifier: string;
  /** Explicit derivatives, as 3.0 canonical paths `{region}/{size}/{rotation}/{quality}.{format}`. */
  readonly paths?: readonly string[];
  /** Preset names. */
  readonly presets?: readonly string[];
  /** The tile pyramid viewers request from info.json. */
  readonly tiles?: boolean;
  /** Every `sizes` entry of info.json. */
  readonly sizes?: boolean;
  /** Which API versions' viewer URL forms to cover (default both). */
  readonly api?: '2' | '3' | 'both';
  /** Render again even when the derivative exists. */
  readonly force?: boolean;
}
