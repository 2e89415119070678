// Builds dist/ once before the suite: the command-line tests run the compiled arcd exactly as
// `npm start` does.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async () => {
  execFileSync('npm', ['run', 'build', '--silent'], {
    cwd: path.join(__dirname, '..'),
    stdio: 'inherit',
  });
};
