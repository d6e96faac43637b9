// Messages of the shared alerts (web/shared/alerts.js): notification permission, offers, the rider's driver.
export default {
  en: {
    'alerts.permission.why':
      'When you go online, your browser asks whether Doorstep may show notifications: allow them to hear about ride offers while the app is in the background.',
    'alerts.permission.denied':
      'Notifications are blocked for this site: you will not hear about offers while the app is in the background. Allow them in the browser’s site settings.',
    'alerts.offer.title': 'New ride offer',
    'alerts.offer.title.delivery': 'New delivery offer',
    'alerts.offer.title.house_call': 'New visit offer',
    'alerts.offer.take': 'Pickup: {pickup} · Your take: {take}',
    'alerts.offer.fare': 'Pickup: {pickup} · Fare: {fare}',
    'alerts.offer.answer': 'Answer within {seconds} s.',
    'alerts.rider.assigned.title': 'Your driver is on the way',
    'alerts.rider.assigned.body': 'Open the app to follow your driver and see your PIN.',
    'alerts.rider.arrived.title': 'Your driver has arrived',
    'alerts.rider.arrived.body': 'Your driver is at the pickup. Tell them your PIN.',
  },
  'zh-CN': {
    'alerts.permission.why': '上线时，浏览器会询问是否允许 Doorstep 显示通知：请允许，这样应用在后台时也能收到行程订单提醒。',
    'alerts.permission.denied': '此网站的通知已被屏蔽：应用在后台时您将收不到订单提醒。请在浏览器的网站设置中允许通知。',
    'alerts.offer.title': '新的行程订单',
    'alerts.offer.title.delivery': '新的配送订单',
    'alerts.offer.title.house_call': '新的上门服务订单',
    'alerts.offer.take': '上车点：{pickup} · 您的收入：{take}',
    'alerts.offer.fare': '上车点：{pickup} · 车费：{fare}',
    'alerts.offer.answer': '请在 {seconds} 秒内回复。',
    'alerts.rider.assigned.title': '司机正在赶来',
    'alerts.rider.assigned.body': '打开应用，查看司机位置和您的验证码。',
    'alerts.rider.arrived.title': '司机已到达',
    'alerts.rider.arrived.body': '司机已在上车点等候，请告诉司机您的验证码。',
  },
};
