// Messages of the landing page (web/index.html, web/landing.js). Keys ending in `Html` hold markup
// (links, code): they are our own text, never user input.
export default {
  en: {
    'landing.lead': 'Rides today — food delivery and house calls next — on one open, self-hostable platform. Pick an app:',
    'landing.ride': 'Ride',
    'landing.rideText': 'The rider app: choose a pickup and a drop-off on the map, see the price, follow your driver live.',
    'landing.drive': 'Drive',
    'landing.driveText': "The driver app: go online, take offers, pick up with the rider's PIN, see today's earnings.",
    'landing.kitchen': 'Kitchen',
    'landing.kitchenText':
      'The restaurant tablet app: new orders with a chime, the kitchen queue, busy mode and pause, the menu and opening hours.',
    'landing.ops': 'Operations',
    'landing.opsText':
      'The console for operators: every driver and request live on the map, demand and supply by zone, KPIs, rides.',
    'landing.install':
      'Each app can be installed on a phone’s home screen or a computer (“Install app” or “Add to Home Screen” in the browser), and opens without a connection once visited.',
    'landing.dev': 'For developers',
    'landing.docsHtml':
      '<a href="/docs/">API documentation</a> (served offline) and the <a href="/openapi.json">OpenAPI 3.1 document</a>',
    'landing.healthHtml':
      '<a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a> (admin token)',
    'landing.demoHtml':
      'In <code>doorstep demo</code>, the operator logs in as <code>admin@demo.doorstep.dev</code> / <code>doorstep-demo</code>.',
  },
  'zh-CN': {
    'landing.lead': '现已提供出行服务，外卖配送和上门服务即将推出——全部运行在一个开放、可自行部署的平台上。请选择应用：',
    'landing.ride': '乘车',
    'landing.rideText': '乘客应用：在地图上选择上车点和下车点，查看价格，实时跟踪司机位置。',
    'landing.drive': '开车',
    'landing.driveText': '司机应用：上线接单，凭乘客的验证码接人，查看今日收入。',
    'landing.kitchen': '商家后厨',
    'landing.kitchenText': '餐厅平板应用：新订单响铃提醒、后厨订单队列、忙碌模式与暂停接单、菜单和营业时间。',
    'landing.ops': '运营',
    'landing.opsText': '运营人员控制台：地图上实时显示所有司机和订单，按区域查看供需、关键指标和行程。',
    'landing.install': '每个应用都可以安装到手机主屏幕或电脑上（在浏览器中选择“安装应用”或“添加到主屏幕”），访问过一次后无网络也能打开。',
    'landing.dev': '开发者',
    'landing.docsHtml': '<a href="/docs/">API 文档</a>（可离线访问）和 <a href="/openapi.json">OpenAPI 3.1 文档</a>',
    'landing.healthHtml': '<a href="/healthz">/healthz</a>、<a href="/readyz">/readyz</a>、<a href="/metrics">/metrics</a>（需要管理员令牌）',
    'landing.demoHtml': '在 <code>doorstep demo</code> 中，运营人员使用 <code>admin@demo.doorstep.dev</code> / <code>doorstep-demo</code> 登录。',
  },
};
