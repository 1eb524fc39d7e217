/**
 * The service's web pages: pure functions from a view model to a whole HTML page. The routes
 * (login, self-service, admin) choose the page and fill the model; the pages hold no state and
 * every value in them is escaped (see views/layout.ts).
 */
export { layout, messagePage, html, SafeHtml, type LayoutOptions, type MessageView, type SignedIn } from './views/layout.ts';
export {
  loginPage,
  cardStepPage,
  tokenStepPage,
  temporaryPasswordStepPage,
  chooseCredentialsPage,
  USER_ID_PATTERN,
  PASSWORD_MIN,
  PASSWORD_MAX,
  type LoginView,
  type CardStepView,
  type TokenStepView,
  type TemporaryPasswordStepView,
  type ChooseCredentialsView,
} from './views/login.ts';
export { keyFileLoginPage, activatePage, type KeyFileLoginView, type ActivateView } from './views/key-file.ts';
export { selfServicePage, type SelfServiceView, type CardRow, type TokenRow, type KeyFileRow } from './views/self-service.ts';
export { adminPage, type AdminView, type EmployeeRow } from './views/admin.ts';
export { confirmPage, type ConfirmView } from './views/confirm.ts';
