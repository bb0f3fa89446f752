// A number field that never shows "NaN": what the user types stays in the field while it is being edited; the store
// gets a number (NaN while the field is empty or not a number, so the form's check names the field), and an
// optional field's blank means "default" (undefined).
import { useEffect, useState } from 'react';

interface Props {
  value: number | undefined;
  onChange(v: number | undefined): void;
  /** blank means undefined (a default), not a missing value */
  optional?: boolean;
  testid?: string;
  className?: string;
  placeholder?: string;
  step?: string;
  disabled?: boolean;
}

const shown = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '' : String(v));

export function NumberInput({ value, onChange, optional, testid, className, placeholder, step, disabled }: Props) {
  const [text, setText] = useState(shown(value));
  // a change from elsewhere (a preset, a link) replaces what is shown, unless it is what the text already says
  useEffect(() => {
    setText((t) => (t.trim() !== '' && Number(t) === value ? t : shown(value)));
  }, [value]);
  return (
    <input
      type="number"
      data-testid={testid}
      className={className}
      placeholder={placeholder}
      // a placeholder says what a blank field means ("max(8, abits)"): the field is wide enough to show all of it
      style={placeholder && placeholder.length > 4 ? { width: `${placeholder.length + 4}ch` } : undefined}
      step={step}
      disabled={disabled}
      value={text}
      onChange={(e) => {
        const t = e.target.value;
        setText(t);
        onChange(t.trim() === '' ? (optional ? undefined : NaN) : Number(t));
      }}
    />
  );
}
