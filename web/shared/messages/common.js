// Messages shared by every app: sign-in, common buttons, states, formatting words.
export default {
  en: {
    'common.language': 'Language',
  },
  'zh-CN': {
    'common.language': '语言',
  },
};
