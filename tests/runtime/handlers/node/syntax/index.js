exports.handler = async () => {
  return { not valid javascript
};
