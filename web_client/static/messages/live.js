// The interviewer's live view and scorecard.
export const LIVE = {
  en: {},
  zh: {},
};
