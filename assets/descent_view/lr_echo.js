// The η that Python has for the descent view ({lr_index, set}), in an element of its own so the
// view's big message does not change when only η does. The view reads it from here.
export default function lrEcho(component) {
  const value = component.data;
  if (!value) return undefined;
  window.__dvPythonLr = value;
  window.dispatchEvent(new CustomEvent("descent-view-lr", { detail: value }));
  return undefined;
}
