// The HR pages: candidates, requisitions, employees, analytics.
export const HR = {
  en: {},
  zh: {},
};
